using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.Elasticsearch;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Model;
using Flotel.Wire.Aws;

namespace Flotel.Gateway.Tests.Outputs.Elasticsearch;

/// <summary>The <c>elasticsearch</c> output against <see cref="FakeElasticsearch"/>: retries, splits, dead letters and counters exact.</summary>
public sealed class ElasticsearchOutputTests
{
    private static readonly DateTime Received = new(2022, 5, 12, 20, 22, 5, DateTimeKind.Utc);

    private static ElasticsearchOptions Options(Uri url, Action<ElasticsearchOptions>? configure = null)
    {
        var options = new ElasticsearchOptions { Name = "es" };
        options.Http.Url = url;
        options.Http.MinBackoff = TimeSpan.FromMilliseconds(10);
        options.Http.MaxBackoff = TimeSpan.FromMilliseconds(50);
        configure?.Invoke(options);
        return options;
    }

    private static string Line(int i) => $"<14>May 12 16:22:{i % 60:00} dev1 app[{i}]: line {i}";

    private static long Items(HttpOutputFixture fixture, string result, string reason) =>
        fixture.Metrics.Sum("flotel_output_items_total", ("output", "es"), ("result", result), ("reason", reason));

    private static long Requests(HttpOutputFixture fixture, string result) =>
        fixture.Metrics.Sum("flotel_output_requests_total", ("output", "es"), ("result", result));

    [Fact]
    public async Task Output_PartialFailures_RetriesOnly429ItemsDeadLetters400AndDrops409WithExactCounters()
    {
        await using var fixture = new HttpOutputFixture();
        await using var es = await FakeElasticsearch.StartAsync();
        es.ItemStatus = (request, action) => (request, action.Source) switch
        {
            (1, var s) when s.Contains("line 2", StringComparison.Ordinal) => (429, "es_rejected_execution_exception"),
            (1, var s) when s.Contains("line 3", StringComparison.Ordinal) => (400, "mapper_parsing_exception"),
            (1, var s) when s.Contains("line 4", StringComparison.Ordinal) => (409, "version_conflict_engine_exception"),
            _ => null,
        };
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", Line(1), Line(2), Line(3), Line(4));
        var options = Options(es.BaseAddress, o => o.Http.Auth = new AuthOptions { Username = "logstash", Password = new SecretValue("pw") });

        await using (var output = new ElasticsearchOutput(options, fixture.Context))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 2 && output.Delivery.DeadLettered == 1 && output.Delivery.Dropped == 1, "every item settled");
        }

        Assert.Equal(2, es.Bulks.Count);
        Assert.Equal(4, es.Bulks[0].Count);
        Assert.Contains("line 2", Assert.Single(es.Bulks[1]).Source, StringComparison.Ordinal); // only the 429 item again
        Assert.All(es.Bulks.SelectMany(b => b), a => Assert.False(a.HasType));
        Assert.All(es.Bulks.SelectMany(b => b), a => Assert.Equal(("index", "logstash-2022.05.12"), (a.Action, a.Index)));
        var request = es.Peer.Requests.First();
        Assert.Equal(("POST", "/_bulk", "?" + ElasticsearchClient.BulkQuery), (request.Method, request.Path, request.Query));
        Assert.Equal("application/x-ndjson", request.Header("Content-Type"));
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("logstash:pw")), request.Header("Authorization"));
        Assert.DoesNotContain(es.Peer.Requests, r => r.Method == "GET"); // no product, licence or _xpack check (docs/reference/syslog-and-elasticsearch.md §3.5)

        Assert.Equal(2, Items(fixture, "sent", "ok"));
        Assert.Equal(1, Items(fixture, "dead_lettered", "http_400"));
        Assert.Equal(1, Items(fixture, "dropped", "version_conflict"));
        Assert.Equal((1, 1), (Requests(fixture, "partial"), Requests(fixture, "success")));
        var deadLetter = JsonDocument.Parse(fixture.DeadLetterText("es").Trim()).RootElement;
        Assert.Equal("mapper_parsing_exception: fake mapper_parsing_exception", deadLetter.GetProperty("reason").GetString());
        Assert.Equal("logstash-2022.05.12", deadLetter.GetProperty("item").GetProperty("index").GetString());
        Assert.EndsWith("line 3", deadLetter.GetProperty("item").GetProperty("source").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Output_429Then401ThenOk_RetriesTheWholeBatchAndLosesNothing()
    {
        await using var fixture = new HttpOutputFixture();
        await using var es = await FakeElasticsearch.StartAsync();
        es.WholeStatus = (n, _) => n switch
        {
            1 => (429, """{"error":{"type":"es_rejected_execution_exception"},"status":429}"""),
            2 => (401, """{"error":{"type":"security_exception","reason":"missing authentication credentials"},"status":401}"""),
            _ => null,
        };
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", Line(1), Line(2), Line(3));

        await using (var output = new ElasticsearchOutput(Options(es.BaseAddress), fixture.Context))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 3, "3 sent");
        }

        Assert.Equal(3, es.Bulks.Count);
        Assert.All(es.Bulks, b => Assert.Equal(3, b.Count));
        Assert.Equal((2L, 1L), (Requests(fixture, "retry"), Requests(fixture, "success")));
        Assert.Equal(string.Empty, fixture.DeadLetterText("es"));
    }

    [Fact]
    public async Task Output_413_HalvesUntilAcceptedAndDeadLettersASingleDocumentThatIsStillTooLarge()
    {
        await using var fixture = new HttpOutputFixture();
        await using var es = await FakeElasticsearch.StartAsync();
        const string tooLarge = """{"Message":"Request size exceeded 10485760 bytes"}""";
        es.WholeStatus = (_, actions) => actions.Count > 2 || actions.Any(a => a.Source.Contains("HUGE", StringComparison.Ordinal)) ? (413, tooLarge) : null;
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", Line(1), Line(2), Line(3), Line(4), "<14>May 12 16:22:00 dev1 app: HUGE");

        await using (var output = new ElasticsearchOutput(Options(es.BaseAddress), fixture.Context))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 4 && output.Delivery.DeadLettered == 1, "4 sent and 1 dead-lettered");
        }

        // 5 → 413, halves [1 2] ok + [3 4 HUGE] → 413, halves [3] ok + [4 HUGE] → 413, halves [4] ok + [HUGE] → 413 → dead letter.
        Assert.Equal([5, 2, 3, 1, 2, 1, 1], es.Bulks.Select(b => b.Count));
        Assert.Equal(4, Requests(fixture, "too_large"));
        Assert.Equal(3, Requests(fixture, "success"));
        Assert.Equal(1, Items(fixture, "dead_lettered", "too_large"));
        Assert.Contains("HUGE", fixture.DeadLetterText("es"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Output_ByteCapAndGzip_SplitsBeforeSendingAndTheServerDecodesTheSameNdjson()
    {
        await using var fixture = new HttpOutputFixture();
        await using var es = await FakeElasticsearch.StartAsync();
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", Enumerable.Range(0, 40).Select(Line).ToArray());
        var options = Options(es.BaseAddress, o =>
        {
            o.MaxBytes = 2048;
            o.Gzip = true;
        });

        await using (var output = new ElasticsearchOutput(options, fixture.Context))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 40, "40 sent");
        }

        Assert.True(es.Peer.Requests.Count > 1);
        Assert.All(es.Peer.Requests, r =>
        {
            Assert.Equal("gzip", r.Header("Content-Encoding"));
            Assert.True(r.Body.Length <= 2048, $"uncompressed body of {r.Body.Length} bytes exceeds maxBytes");
            Assert.True(r.RawBody.Length < r.Body.Length);
        });
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"line {i}"),
            es.Bulks.SelectMany(b => b).Select(a => JsonDocument.Parse(a.Source).RootElement.GetProperty("message").GetString()!));
    }

    [Fact]
    public async Task Output_BulkDocumentsAndSyslog_AreBothForwardedWithTheirIdsAndActions()
    {
        await using var fixture = new HttpOutputFixture();
        await using var es = await FakeElasticsearch.StartAsync();
        await fixture.AppendBulkAsync(("web-2022.05.12", "AAAAAAAAAAAAAAAAAAAA", true, """{"message":"from _bulk"}"""));
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", Line(1));

        await using (var output = new ElasticsearchOutput(Options(new Uri(es.BaseAddress, "prefix/")), fixture.Context))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 2, "2 sent");
        }

        var actions = es.Bulks.SelectMany(b => b).ToList();
        Assert.Equal(("create", "web-2022.05.12", "AAAAAAAAAAAAAAAAAAAA"), (actions[0].Action, actions[0].Index, actions[0].Id));
        Assert.Equal(("index", "logstash-2022.05.12", (string?)null), (actions[1].Action, actions[1].Index, actions[1].Id));
        Assert.Equal("/prefix/_bulk", es.Peer.Requests.First().Path);
    }

    [Fact]
    public async Task Output_AwsSigV4_SignsEachRequestSoTheServerRecomputesTheSameSignature()
    {
        await using var fixture = new HttpOutputFixture();
        await using var es = await FakeElasticsearch.StartAsync();
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", Line(1), Line(2));
        var credentials = new AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token");
        var options = Options(es.BaseAddress, o =>
        {
            o.AwsRegion = "us-east-1";
            o.Gzip = true;
        });

        await using (var output = new ElasticsearchOutput(options, fixture.Context, _ => ValueTask.FromResult(credentials)))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 2, "2 sent");
        }

        var request = es.Peer.Requests.Single();
        var authorization = request.Header("Authorization");
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", authorization, StringComparison.Ordinal);
        Assert.Contains("/us-east-1/es/aws4_request", authorization, StringComparison.Ordinal);
        Assert.Equal("session-token", request.Header("X-Amz-Security-Token"));

        // The server side of SigV4: rebuild the canonical request from what arrived (signed headers, raw body hash).
        var signedHeaders = authorization.Split("SignedHeaders=")[1].Split(',')[0].Split(';');
        var headers = signedHeaders.Where(h => h is not ("x-amz-date" or "x-amz-security-token")) // the signer adds these two itself
            .Select(h => new KeyValuePair<string, string>(h, request.Header(h))).ToList();
        var amzDate = DateTimeOffset.ParseExact(request.Header("X-Amz-Date"), "yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
        var expected = new SigV4Signer("us-east-1", "es").Sign(
            new SigV4Request("POST", request.Path, request.Query.TrimStart('?'), headers, SigV4Signer.HashPayload(request.RawBody)), credentials, amzDate);
        Assert.Equal(expected.Authorization, authorization);
        Assert.Contains("content-encoding", signedHeaders);
    }

    [Theory]
    [InlineData("aoss")]
    [InlineData("es")]
    public async Task Output_AwsSigV4_SignsXAmzContentSha256OfTheBodyAsSentAndTheSignatureMatchesTheDocumentedAlgorithm(string service)
    {
        await using var fixture = new HttpOutputFixture();
        await using var es = await FakeElasticsearch.StartAsync();
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", Line(1), Line(2));
        const string Secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        var credentials = new AwsCredentials("AKIDEXAMPLE", Secret);
        var options = Options(es.BaseAddress, o =>
        {
            o.AwsRegion = "eu-west-1";
            o.AwsService = service;
            o.Gzip = true;
        });

        await using (var output = new ElasticsearchOutput(options, fixture.Context, _ => ValueTask.FromResult(credentials)))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 2, "2 sent");
        }

        var request = es.Peer.Requests.Single();
        var bodyHash = Convert.ToHexStringLower(SHA256.HashData(request.RawBody)); // the gzip bytes, as sent
        Assert.Equal(bodyHash, request.Header("X-Amz-Content-Sha256"));
        var authorization = request.Header("Authorization");
        var signedHeaders = authorization.Split("SignedHeaders=")[1].Split(',')[0];
        Assert.Contains("x-amz-content-sha256", signedHeaders.Split(';'));
        Assert.Equal(DocumentedSigV4Authorization(request, signedHeaders, bodyHash, "AKIDEXAMPLE", Secret, "eu-west-1", service), authorization);
    }

    /// <summary>
    /// The server side of SigV4, written here from the AWS IAM User Guide ("Create a signed AWS API request") rather
    /// than with <see cref="SigV4Signer"/>: canonical request, string to sign, signing key, signature.
    /// </summary>
    private static string DocumentedSigV4Authorization(
        ReceivedRequest request, string signedHeaders, string payloadHash, string accessKeyId, string secret, string region, string service)
    {
        static string Encode(string value)
        {
            var text = new StringBuilder();
            foreach (var b in Encoding.UTF8.GetBytes(value))
            {
                if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
                {
                    text.Append((char)b);
                }
                else
                {
                    text.Append(CultureInfo.InvariantCulture, $"%{b:X2}");
                }
            }

            return text.ToString();
        }

        var query = string.Join('&', request.Query.TrimStart('?').Split('&')
            .Select(p => p.Split('=', 2))
            .Select(p => Encode(Uri.UnescapeDataString(p[0])) + "=" + Encode(Uri.UnescapeDataString(p.Length > 1 ? p[1] : string.Empty)))
            .Order(StringComparer.Ordinal));
        var headers = string.Concat(signedHeaders.Split(';').Select(h => h + ":" + request.Header(h).Trim() + "\n"));
        var canonicalRequest = $"POST\n{request.Path}\n{query}\n{headers}\n{signedHeaders}\n{payloadHash}";
        var amzDate = request.Header("X-Amz-Date");
        var scope = $"{amzDate[..8]}/{region}/{service}/aws4_request";
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";
        var key = Encoding.UTF8.GetBytes("AWS4" + secret);
        foreach (var part in new[] { amzDate[..8], region, service, "aws4_request" })
        {
            key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(part));
        }

        var signature = Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        return $"AWS4-HMAC-SHA256 Credential={accessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
    }
}
