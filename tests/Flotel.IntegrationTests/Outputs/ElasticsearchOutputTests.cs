using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.Elasticsearch;
using Flotel.IntegrationTests.Gateway;
using Flotel.Model;

namespace Flotel.IntegrationTests.Outputs;

/// <summary>
/// The <c>elasticsearch</c> output against a second Flotel gateway's <c>_bulk</c> endpoint (a real round trip
/// through the documented format, then <c>_search</c> on the receiver): syslog events and <c>_bulk</c>-ingested
/// documents are both forwarded, with the blog's basic auth read from <c>LOGSTASH_USERNAME</c>/<c>LOGSTASH_PASSWORD</c>.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class ElasticsearchOutputTests : IDisposable
{
    private readonly string _dir = PeerProcess.CreateTempDirectory("es-output");

    public void Dispose() => GatewayTestKit.DeleteDirectory(_dir);

    [Fact]
    public async Task Elasticsearch_ToASecondGatewaysBulk_SyslogAndBulkDocumentsAreSearchableThereWithTheSameSource()
    {
        const int lines = 300;
        var credentials = new AuthOptions { Username = "logstash", Password = new SecretValue("s3cret") };
        await using var receiver = await InProcessGateway.StartAsync(o => o.IngestAuth = credentials);
        var config = Path.Combine(_dir, "gateway.yaml");
        await File.WriteAllTextAsync(config, $"""
            outputs:
              - name: opensearch
                type: elasticsearch
                url: http://{receiver.Host.HttpEndPoint}
                auth:
                  username: ${"{"}LOGSTASH_USERNAME{"}"}
                  password: ${"{"}LOGSTASH_PASSWORD{"}"}
                gzip: true
                deterministicIds: true
                maxDocuments: 64
            """);
        var env = new Dictionary<string, string> { ["LOGSTASH_USERNAME"] = "logstash", ["LOGSTASH_PASSWORD"] = "s3cret" };
        var (loaded, diagnostics) = GatewayConfigLoader.Load(config, name => env.GetValueOrDefault(name));
        Assert.Empty(diagnostics);
        Assert.IsType<ElasticsearchOptions>(Assert.Single(loaded.Outputs));
        await using var sender = await InProcessGateway.StartAsync(o => o.Outputs.AddRange(loaded.Outputs));

        using (var client = new TcpClient())
        {
            await client.ConnectAsync("127.0.0.1", sender.SyslogPort);
            var text = new StringBuilder();
            for (var i = 0; i < lines; i++)
            {
                text.Append("<134>May 12 2022 16:22:01 dev1 random-workload[7]: es line ").Append(i).Append('\n');
            }

            await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(text.ToString()));
        }

        using (var bulk = new StringContent(
            """{"index":{"_index":"apps-2022.05.12","_id":"bulk-doc-1"}}""" + "\n" + """{"message":"via _bulk","n":1}""" + "\n"
            + """{"create":{"_index":"apps-2022.05.12","_id":"bulk-doc-2"}}""" + "\n" + """{"message":"via _bulk","n":2}""" + "\n",
            Encoding.UTF8, "application/x-ndjson"))
        {
            using var response = await sender.Http.PostAsync(new Uri("_bulk", UriKind.Relative), bulk);
            Assert.True(response.IsSuccessStatusCode, "_bulk on the sender answered " + (int)response.StatusCode);
        }

        using var query = new HttpClient { BaseAddress = receiver.Http.BaseAddress };
        Assert.True(await Eventually.PollAsync(async () =>
                await GatewayTestKit.CountAsync(receiver.Http, "logstash-*", """{"query":{"match_phrase":{"message":"es line"}}}""") == lines
                && await GatewayTestKit.CountAsync(receiver.Http, "apps-*", """{"query":{"match_all":{}}}""") == 2,
            TimeSpan.FromSeconds(60)), "not everything reached the receiving gateway");

        // The receiver holds exactly what the sender's own store renders (one _source schema, architecture §5).
        const string byN = """{"query":{"match_phrase":{"message":"es line 123"}},"size":1}""";
        var there = (await GatewayTestKit.SearchAsync(receiver.Http, "logstash-*", byN))["hits"]!["hits"]![0]!;
        var here = (await GatewayTestKit.SearchAsync(sender.Http, "logstash-*", byN))["hits"]!["hits"]![0]!;
        Assert.Equal(here["_source"]!.ToJsonString(), there["_source"]!.ToJsonString());
        Assert.Equal("logstash-2022.05.12", (string)there["_index"]!);
        Assert.Matches("^[A-Za-z0-9_-]{20}$", (string)there["_id"]!); // the deterministic id, not the receiver's
        Assert.Equal("random-workload", (string)there["_source"]!["program"]!);

        var bulkDocs = (await GatewayTestKit.SearchAsync(receiver.Http, "apps-*", """{"sort":[{"n":"asc"}]}"""))["hits"]!["hits"]!.AsArray();
        Assert.Equal(["bulk-doc-1", "bulk-doc-2"], bulkDocs.Select(h => (string)h!["_id"]!));
        Assert.Equal(2, (int)bulkDocs[1]!["_source"]!["n"]!);

        var metrics = sender.Host.Metrics;
        Assert.Equal(lines + 2, metrics.Sum("flotel_output_items_total", ("output", "opensearch"), ("result", "sent")));
        Assert.Equal(0, metrics.Sum("flotel_output_items_total", ("output", "opensearch"), ("result", "dead_lettered")));
    }

    [Fact]
    public async Task Elasticsearch_ReceiverRefusesTheCredentials_RetriesAndDeadLettersNothing()
    {
        var accepted = new AuthOptions { Username = "logstash", Password = new SecretValue("right") };
        await using var receiver = await InProcessGateway.StartAsync(o => o.IngestAuth = accepted);
        var output = new ElasticsearchOptions { Name = "es" };
        output.Http.Url = new Uri("http://" + receiver.Host.HttpEndPoint);
        output.Http.Auth = new AuthOptions { Username = "logstash", Password = new SecretValue("wrong") };
        output.Http.MinBackoff = TimeSpan.FromMilliseconds(50);
        output.Http.MaxBackoff = TimeSpan.FromMilliseconds(200);
        await using var sender = await InProcessGateway.StartAsync(o => o.Outputs.Add(output));
        using (var bulk = new StringContent("""{"index":{"_index":"apps-1"}}""" + "\n" + """{"message":"kept"}""" + "\n", Encoding.UTF8, "application/x-ndjson"))
        {
            using var response = await sender.Http.PostAsync(new Uri("_bulk", UriKind.Relative), bulk);
            Assert.True(response.IsSuccessStatusCode);
        }

        Assert.True(await Eventually.PollAsync(
            () => Task.FromResult(sender.Host.Metrics.Sum("flotel_output_requests_total", ("output", "es"), ("result", "retry")) >= 3), TimeSpan.FromSeconds(30)),
            "the 401s were not retried");
        Assert.Equal(0, sender.Host.Metrics.Sum("flotel_output_items_total", ("output", "es"), ("result", "dead_lettered")));
        Assert.Equal(0, await GatewayTestKit.CountAsync(receiver.Http, "apps-*", """{"query":{"match_all":{}}}"""));
    }
}
