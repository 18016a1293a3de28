using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Gateway.Outputs.Timestream;
using Flotel.Store.Tests.Metrics;
using Flotel.Wire.Aws;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Outputs.Timestream;

public sealed class TimestreamClientTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Body = """{"DatabaseName":"flotta","TableName":"metrics","Records":[]}"""u8.ToArray();

    [Fact]
    public async Task WriteRecords_FirstCall_DiscoversThenWritesToTheCellWithSignedJson10()
    {
        var (client, handler, _) = Create();
        var response = await client.WriteRecordsAsync(Body, CancellationToken.None);

        Assert.True(response.IsSuccess);
        Assert.Equal(["https://ingest.timestream.eu-central-1.amazonaws.com/ DescribeEndpoints", "https://cell1.example/ WriteRecords"], handler.Calls());
        var describe = handler.Requests.First();
        Assert.Equal("{}", describe.Body);
        var write = handler.Requests.Last();
        Assert.Equal(Body, Encoding.UTF8.GetBytes(write.Body));
        Assert.Equal("application/x-amz-json-1.0", write.ContentType);
        Assert.Equal("Timestream_20181101.WriteRecords", write.Target);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-central-1/timestream/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-target, Signature=", write.Authorization, StringComparison.Ordinal);
        Assert.Equal("20260101T120000Z", write.AmzDate);
    }

    [Fact]
    public async Task WriteRecords_WithinCachePeriod_ReusesTheEndpoint_AfterItRediscovers()
    {
        var (client, handler, time) = Create(cacheMinutes: 10);
        await client.WriteRecordsAsync(Body, CancellationToken.None);
        time.SetUtcNow(Start.AddMinutes(8).AddSeconds(59)); // the refresh margin is a tenth of the period, at most a minute
        await client.WriteRecordsAsync(Body, CancellationToken.None);
        Assert.Equal(1, client.Discoveries);

        time.SetUtcNow(Start.AddMinutes(9));
        handler.Cell = "cell2.example";
        await client.WriteRecordsAsync(Body, CancellationToken.None);
        Assert.Equal(2, client.Discoveries);
        Assert.Equal("https://cell2.example/ WriteRecords", handler.Calls().Last());
    }

    [Fact]
    public async Task WriteRecords_421_RediscoversAndResendsOnce()
    {
        var (client, handler, _) = Create();
        await client.WriteRecordsAsync(Body, CancellationToken.None);
        handler.Cell = "cell2.example";
        handler.Answers.Enqueue((HttpStatusCode.MisdirectedRequest, "InvalidEndpointException", """{"message":"The endpoint is no longer valid"}"""));
        var response = await client.WriteRecordsAsync(Body, CancellationToken.None);

        Assert.True(response.IsSuccess);
        Assert.Equal(2, client.Discoveries);
        Assert.Equal(
            ["https://ingest.timestream.eu-central-1.amazonaws.com/ DescribeEndpoints", "https://cell1.example/ WriteRecords",
             "https://cell1.example/ WriteRecords", "https://ingest.timestream.eu-central-1.amazonaws.com/ DescribeEndpoints", "https://cell2.example/ WriteRecords"],
            handler.Calls());
    }

    [Fact]
    public async Task WriteRecords_DiscoveryFailsWithoutPreviousEndpoint_ReturnsTheDiscoveryAnswer()
    {
        var (client, handler, _) = Create();
        handler.DescribeAnswer = (HttpStatusCode.Forbidden, "AccessDeniedException", """{"message":"not authorized to perform: timestream:DescribeEndpoints"}""");
        var response = await client.WriteRecordsAsync(Body, CancellationToken.None);
        Assert.Equal(("DescribeEndpoints", HttpStatusCode.Forbidden, "AccessDeniedException"), (response.Operation, response.Status, response.ErrorType));
        Assert.Single(handler.Calls());
    }

    [Fact]
    public async Task WriteRecords_RefreshFailsWithServerError_KeepsThePreviousEndpointForAMinute()
    {
        var (client, handler, time) = Create(cacheMinutes: 10);
        await client.WriteRecordsAsync(Body, CancellationToken.None);
        time.SetUtcNow(Start.AddMinutes(10));
        handler.DescribeAnswer = (HttpStatusCode.InternalServerError, "InternalServerException", "{}");
        Assert.True((await client.WriteRecordsAsync(Body, CancellationToken.None)).IsSuccess);
        time.SetUtcNow(Start.AddMinutes(10).AddSeconds(30));
        Assert.True((await client.WriteRecordsAsync(Body, CancellationToken.None)).IsSuccess);
        Assert.Equal(2, client.Discoveries);
        time.SetUtcNow(Start.AddMinutes(11));
        await client.WriteRecordsAsync(Body, CancellationToken.None);
        Assert.Equal(3, client.Discoveries);
    }

    [Theory]
    [InlineData("""{"Endpoints":[]}""")]
    [InlineData("""{"Endpoints":[{"Address":"cell1.example"}]}""")]
    [InlineData("""not json""")]
    public async Task WriteRecords_DescribeEndpointsUnusable_RetryableAnswer(string body)
    {
        var (client, handler, _) = Create();
        handler.DescribeAnswer = (HttpStatusCode.OK, null, body);
        var response = await client.WriteRecordsAsync(Body, CancellationToken.None);
        Assert.Equal(("InvalidDescribeEndpointsResponse", HttpStatusCode.BadGateway), (response.ErrorType, response.Status));
    }

    [Fact]
    public async Task WriteRecords_FixedEndpoint_SkipsDiscovery()
    {
        var (client, handler, _) = Create(configure: o => o.Endpoint = new Uri("http://127.0.0.1:9999/"));
        await client.WriteRecordsAsync(Body, CancellationToken.None);
        Assert.Equal(["http://127.0.0.1:9999/ WriteRecords"], handler.Calls());
        Assert.Equal(0, client.Discoveries);
    }

    [Fact]
    public async Task WriteRecords_SessionCredentials_SignsTheToken()
    {
        var (client, handler, _) = Create(credentials: new AwsCredentials("ASIAEXAMPLE", "secret", "the-token"));
        await client.WriteRecordsAsync(Body, CancellationToken.None);
        var write = handler.Requests.Last();
        Assert.Equal("the-token", write.Token);
        Assert.Contains("SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token;x-amz-target,", write.Authorization, StringComparison.Ordinal);
    }

    private static (TimestreamClient Client, ScriptedHandler Handler, FakeTimeProvider Time) Create(
        int cacheMinutes = 1440, Action<TimestreamOptions>? configure = null, AwsCredentials? credentials = null)
    {
        var options = new TimestreamOptions { Name = "ts", Region = "eu-central-1", Database = "flotta", Table = "metrics" };
        configure?.Invoke(options);
        var handler = new ScriptedHandler(cacheMinutes);
        var time = new FakeTimeProvider(Start);
        var client = new TimestreamClient(
            options, AwsCredentialChain.Static(credentials ?? new AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")), handler, time, NullLogger.Instance);
        return (client, handler, time);
    }

    /// <summary>Answers DescribeEndpoints with <see cref="Cell"/> and WriteRecords with queued answers, else 200.</summary>
    private sealed class ScriptedHandler(int cacheMinutes) : HttpMessageHandler
    {
        public sealed record Seen(string Url, string Target, string Body, string? ContentType, string Authorization, string AmzDate, string? Token);

        public ConcurrentQueue<Seen> Requests { get; } = new();

        public ConcurrentQueue<(HttpStatusCode Status, string? Type, string Body)> Answers { get; } = new();

        public (HttpStatusCode Status, string? Type, string Body)? DescribeAnswer { get; set; }

        public string Cell { get; set; } = "cell1.example";

        public string[] Calls() => [.. Requests.Select(r => r.Url + " " + r.Target.Split('.')[1])];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = await request.Content!.ReadAsStringAsync(cancellationToken);
            var target = request.Headers.GetValues("X-Amz-Target").Single();
            Requests.Enqueue(new Seen(
                request.RequestUri!.ToString(), target, body, request.Content.Headers.ContentType?.ToString(),
                request.Headers.GetValues("Authorization").Single(), request.Headers.GetValues("X-Amz-Date").Single(),
                request.Headers.TryGetValues("X-Amz-Security-Token", out var token) ? token.Single() : null));
            (HttpStatusCode Status, string? Type, string Body) answer = target.EndsWith("DescribeEndpoints", StringComparison.Ordinal)
                ? DescribeAnswer ?? (HttpStatusCode.OK, null, $$"""{"Endpoints":[{"Address":"{{Cell}}","CachePeriodInMinutes":{{cacheMinutes}}}]}""")
                : Answers.TryDequeue(out var queued) ? queued : (HttpStatusCode.OK, null, """{"RecordsIngested":{"Total":1,"MemoryStore":1,"MagneticStore":0}}""");
            var response = new HttpResponseMessage(answer.Status) { Content = new StringContent(answer.Body) };
            if (answer.Type is not null)
            {
                response.Headers.TryAddWithoutValidation("X-Amzn-ErrorType", answer.Type);
            }

            return response;
        }
    }
}
