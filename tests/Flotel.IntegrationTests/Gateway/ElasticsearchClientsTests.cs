using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// The official Node.js clients — <c>@elastic/elasticsearch</c> 8 and 9, <c>@opensearch-project/opensearch</c> 2 and
/// 3, pinned in EsClients/package-lock.json and installed with <c>npm ci</c> into a temp directory (<see cref="EsClientsPackage"/>) — against a gateway
/// on 127.0.0.1: info, msearch (Grafana's header and logs body), getMapping, fieldCaps, cluster.health,
/// cat.health, and a search with highlight. Each client must accept every answer (they check the product header and
/// the answer shapes) and the answers must carry what the gateway stored. Requires node and npm (test.sh installs
/// them); without them the test fails saying so.
/// </summary>
public sealed class ElasticsearchClientsTests
{
    private const string Index = "logstash-2022.05.12";

    [Fact]
    public async Task OfficialClients_InfoMsearchMappingFieldCapsHealthHighlight_AllAnswered()
    {
        await using var gateway = await InProcessGateway.StartAsync();
        using (var bulk = new StringContent(
            "{\"index\":{\"_index\":\"" + Index + "\"}}\n{\"@timestamp\":\"2022-05-12T20:22:01Z\",\"message\":\"disk error on sda\",\"program\":\"kernel\",\"severity\":3}\n" +
            "{\"index\":{\"_index\":\"" + Index + "\"}}\n{\"@timestamp\":\"2022-05-12T20:23:01Z\",\"message\":\"link up\",\"program\":\"kernel\",\"severity\":6}\n",
            Encoding.UTF8, "application/x-ndjson"))
        {
            using var response = await gateway.Http.PostAsync("/_bulk", bulk);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await WaitSearchableAsync(gateway, 2);
        JsonNode results = await RunClientsAsync(gateway);

        foreach (var client in new[] { "es8", "es9", "os2", "os3" })
        {
            JsonNode calls = results[client]!;
            foreach (var (name, call) in calls.AsObject())
            {
                Assert.True((bool)call!["ok"]!, $"{client} {name}: {call.ToJsonString()}");
            }

            Assert.Equal("7.17.0", (string?)Body(calls, "info")["version"]!["number"]);

            JsonArray responses = Body(calls, "msearch")["responses"]!.AsArray();
            Assert.Equal(2, responses.Count);
            JsonNode logs = responses[0]!;
            Assert.Equal(200, (int)logs["status"]!);
            JsonNode hit = Assert.Single(logs["hits"]!["hits"]!.AsArray())!;
            Assert.Equal(["disk @HIGHLIGHT@error@/HIGHLIGHT@ on sda"], hit["highlight"]!["message"]!.AsArray().Select(v => (string?)v));
            Assert.Equal(["2022-05-12T20:22:01.000000000Z"], hit["fields"]!["@timestamp"]!.AsArray().Select(v => (string?)v));
            Assert.Equal(404, (int)responses[1]!["status"]!);
            Assert.Equal("index_not_found_exception", (string?)responses[1]!["error"]!["type"]);

            JsonNode properties = Body(calls, "mapping")[Index]!["mappings"]!["properties"]!;
            Assert.Equal("date", (string?)properties["@timestamp"]!["type"]);
            Assert.Equal("long", (string?)properties["severity"]!["type"]);
            Assert.Equal("keyword", (string?)properties["program"]!["fields"]!["keyword"]!["type"]);

            JsonNode caps = Body(calls, "fieldCaps")["fields"]!;
            Assert.True((bool)caps["program.keyword"]!["keyword"]!["aggregatable"]!);
            Assert.False((bool)caps["message"]!["text"]!["aggregatable"]!);

            Assert.Equal("green", (string?)Body(calls, "health")["status"]);
            Assert.Equal("green", (string?)Body(calls, "catHealth")[0]!["status"]);

            JsonNode searched = Assert.Single(Body(calls, "search")["hits"]!["hits"]!.AsArray())!;
            Assert.Equal(["<em>disk</em> error on sda"], searched["highlight"]!["message"]!.AsArray().Select(v => (string?)v));
        }
    }

    private static JsonNode Body(JsonNode calls, string name) => calls[name]!["body"]!;

    private static async Task WaitSearchableAsync(InProcessGateway gateway, long count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await gateway.Http.GetAsync("/" + Index + "/_count?ignore_unavailable=true");
            if (response.StatusCode == HttpStatusCode.OK && (long)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["count"]! == count)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the {count} documents did not become searchable within 30 s");
            await Task.Delay(100);
        }
    }

    private static async Task<JsonNode> RunClientsAsync(InProcessGateway gateway)
    {
        using NodePackage package = await EsClientsPackage.InstallAsync();
        return JsonNode.Parse(await package.RunScriptAsync("clients.mjs", "http://" + gateway.Host.HttpEndPoint, Index))!;
    }
}
