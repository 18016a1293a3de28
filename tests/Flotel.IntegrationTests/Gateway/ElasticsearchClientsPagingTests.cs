using System.Text;
using System.Text.Json.Nodes;
using Flotel.TestKit;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// The official Node.js clients (<c>@elastic/elasticsearch</c> 8 and 9, <c>@opensearch-project/opensearch</c> 2 and 3,
/// pinned in EsClients/package-lock.json, installed by <see cref="EsClientsPackage"/>) page through a
/// gateway with their own helpers and calls: <c>helpers.scrollSearch</c>, <c>helpers.scrollDocuments</c>, and a point
/// in time (<c>openPointInTime</c> / <c>createPit</c>) with <c>search_after</c>, over more documents than one page, on
/// few distinct timestamps so pages end among equal sort values; then each writes a saved object into <c>.kibana</c>
/// with <c>refresh=wait_for</c> (through the durable queue), reads it back with <c>get</c>, <c>mget</c> and
/// <c>exists</c>, and gets a 409 from <c>create</c>; it counts with <c>terminate_after</c> and gets with <c>stored_fields</c>. Requires node and npm (test.sh installs them).
/// </summary>
public sealed class ElasticsearchClientsPagingTests
{
    private const int Documents = 1_000;
    private const string Index = "paging-2022.05.12";

    [Fact]
    public async Task OfficialClients_ScrollHelpersPointInTimeAndSingleDocuments_ReadEveryDocumentOnce()
    {
        await using InProcessGateway gateway = await InProcessGateway.StartAsync();
        var bulk = new StringBuilder();
        for (int n = 0; n < Documents; n++)
        {
            // Ten distinct timestamps: each page of 300 ends inside a run of equal @timestamp values.
            bulk.Append("{\"index\":{}}\n{\"@timestamp\":\"2022-05-12T10:00:0").Append(n % 10).Append("Z\",\"message\":\"paging ").Append(n).Append("\",\"n\":").Append(n).Append("}\n");
        }

        using (var content = new StringContent(bulk.ToString(), Encoding.UTF8, "application/x-ndjson"))
        using (HttpResponseMessage response = await gateway.Http.PostAsync($"/{Index}/_bulk", content))
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            Assert.DoesNotContain("\"errors\":true", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.True(
            await Eventually.PollAsync(async () => await GatewayTestKit.CountAsync(gateway.Http, Index, "{}") == Documents, TimeSpan.FromSeconds(30)),
            "the documents did not become searchable");

        using (NodePackage package = await EsClientsPackage.InstallAsync())
        {
            int[] expected = [.. Enumerable.Range(0, Documents)];
            foreach (string client in new[] { "es8", "es9", "os2", "os3" })
            {
                JsonNode result = JsonNode.Parse(await package.RunScriptAsync("paging.mjs", client, "http://" + gateway.Host.HttpEndPoint, "paging-*"))!;
                foreach (string list in new[] { "scrollSearch", "scrollDocuments", "pit" })
                {
                    int[] read = [.. result[list]!.AsArray().Select(v => (int)v!)];
                    Assert.True(expected.SequenceEqual(read.Order()), $"{client} {list}: {read.Length} documents, {read.Distinct().Count()} distinct");
                }

                Assert.All(result["pitTotals"]!.AsArray(), total => Assert.Equal(Documents, (int)total!));
                Assert.True((bool)result["pitClosed"]!, client + " closed its point in time");
                Assert.Equal("404 search_context_missing_exception", (string?)result["closedSearch"]);
                Assert.Equal("created", (string?)result["indexResult"]);
                Assert.Equal(client, (string?)result["getClient"]);
                Assert.Equal("[true,false]", result["mgetFound"]!.ToJsonString());
                Assert.True((bool)result["exists"]!, client + " found its document with HEAD");
                Assert.Equal("409 version_conflict_engine_exception", (string?)result["createAgain"]);
                Assert.Equal("[10,true]", result["countTerminated"]!.ToJsonString());
                Assert.False((bool)result["getWithStoredFieldsHasSource"]!, client + " asked for stored fields only");
            }
        }

        // Every scroll the helpers opened was cleared.
        Assert.Equal(0, GatewayTestKit.ExpositionValue(await gateway.Http.GetStringAsync("/metrics"), "flotel_es_search_contexts_open{kind=\"scroll\"}"));
    }
}
