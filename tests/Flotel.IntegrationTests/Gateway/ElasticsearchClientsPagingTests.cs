using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.TestKit;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// The official Node.js clients (<c>@elastic/elasticsearch</c> 8 and 9, <c>@opensearch-project/opensearch</c> 2 and 3,
/// pinned in ElasticsearchClients/package-lock.json, installed with <c>npm ci</c> into a temp directory) page through a
/// gateway with their own helpers and calls: <c>helpers.scrollSearch</c>, <c>helpers.scrollDocuments</c>, and a point
/// in time (<c>openPointInTime</c> / <c>createPit</c>) with <c>search_after</c>, over more documents than one page, on
/// few distinct timestamps so pages end among equal sort values; then each writes a saved object into <c>.kibana</c>
/// with <c>refresh=wait_for</c> (through the durable queue), reads it back with <c>get</c>, <c>mget</c> and
/// <c>exists</c>, and gets a 409 from <c>create</c>. Requires node and npm (test.sh installs them).
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

        Assert.True(await Eventually.PollAsync(async () => await GatewayTestKit.CountAsync(gateway.Http, Index, "{}") == Documents, TimeSpan.FromSeconds(30)), "the documents did not become searchable");

        string work = PeerProcess.CreateTempDirectory("es-clients");
        try
        {
            foreach (string file in new[] { "package.json", "package-lock.json", "clients.mjs" })
            {
                File.Copy(Path.Combine(ClientsFolder(), file), Path.Combine(work, file));
            }

            // npm ci installs exactly the lock file's versions (offline from the npm cache when it has them).
            _ = await RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], work, TimeSpan.FromMinutes(5));
            int[] expected = [.. Enumerable.Range(0, Documents)];
            foreach (string client in new[] { "es8", "es9", "os2", "os3" })
            {
                string output = await RunAsync("node", ["clients.mjs", client, "http://" + gateway.Host.HttpEndPoint, "paging-*"], work, TimeSpan.FromMinutes(2));
                JsonNode result = JsonNode.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last())!;
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
            }
        }
        finally
        {
            GatewayTestKit.DeleteDirectory(work);
        }

        // Every scroll the helpers opened was cleared.
        Assert.Equal(0, GatewayTestKit.ExpositionValue(await gateway.Http.GetStringAsync("/metrics"), "flotel_es_search_contexts_open{kind=\"scroll\"}"));
    }

    private static async Task<string> RunAsync(string program, string[] arguments, string directory, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"'{program}' could not be started ({e.Message}): this test needs Node.js and npm (Debian packages nodejs, npm; test.sh installs them).");
            throw;
        }

        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"'{program} {string.Join(' ', arguments)}' did not finish within {timeout}.");
            }

            if (process.ExitCode != 0)
            {
                Assert.Fail($"'{program} {string.Join(' ', arguments)}' exited with {process.ExitCode}: {await stderr}");
            }

            return await stdout;
        }
    }

    private static string ClientsFolder([CallerFilePath] string path = "") =>
        Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(path)!)!, "ElasticsearchClients");
}
