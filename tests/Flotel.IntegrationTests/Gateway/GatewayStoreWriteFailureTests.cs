using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// The embedded store output when SQLite refuses a write: the batch is not committed on the queue, the output backs
/// off and delivers again from the committed cursor (the batch read ahead by the pipelined loop included), so once
/// the store accepts writes again every line is searchable exactly once.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class GatewayStoreWriteFailureTests
{
    [Fact]
    public async Task StoreOutput_SqliteRefusesWritesForAWhile_EveryLineStoredOnceAfterwards()
    {
        await using var gateway = await InProcessGateway.StartAsync();
        await SendAsync(gateway, ["<13>May 12 20:22:01 host app[1]: before the failure"]);
        Assert.True(await CountIsAsync(gateway, 1), "the first line was not stored");

        // A real SQLite failure, no seam in the product: a trigger (made by another connection) aborts every insert into
        // the index's document table while the table `refuse` has a row.
        var database = Path.Combine(gateway.DataDirectory, "logs", "logs.db");
        Execute(database, """
            CREATE TABLE refuse(x);
            INSERT INTO refuse VALUES (1);
            CREATE TRIGGER refuse_inserts BEFORE INSERT ON docs_1 WHEN EXISTS (SELECT 1 FROM refuse)
              BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
            """);

        // Several TCP writes, so the output sees more than one queue batch while the store refuses.
        var lines = Enumerable.Range(0, 3000).Select(i => $"<13>May 12 20:22:02 host app[1]: during the failure {i}").ToList();
        foreach (var chunk in lines.Chunk(500))
        {
            await SendAsync(gateway, chunk);
        }

        string metrics = string.Empty;
        Assert.True(
            await Eventually.PollAsync(async () =>
            {
                metrics = await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));
                return GatewayTestKit.ExpositionValue(metrics, "flotel_store_write_errors_total") >= 1;
            }, TimeSpan.FromSeconds(30)),
            "no store write error was counted:\n" + metrics);
        Assert.Equal(1, await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", "{\"query\":{\"match_all\":{}}}"));

        Execute(database, "DELETE FROM refuse");

        Assert.True(await CountIsAsync(gateway, 1 + lines.Count), "the lines were not stored after the failure ended");
        var hits = await GatewayTestKit.SearchAsync(gateway.Http, "logstash-*", "{\"query\":{\"match\":{\"message\":\"during\"}},\"size\":5000}");
        var stored = hits["hits"]!["hits"]!.AsArray().Select(h => (string)h!["_source"]!["message"]!).ToList();
        Assert.Equal(lines.Select(l => l[(l.IndexOf("during", StringComparison.Ordinal))..]).Order(StringComparer.Ordinal), stored.Order(StringComparer.Ordinal));

        // Let anything still in flight land, so a duplicate would show as an overshoot.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(1 + lines.Count, await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", "{\"query\":{\"match_all\":{}}}"));
        metrics = await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));
        Assert.Equal(1 + lines.Count, GatewayTestKit.ExpositionValue(metrics, "flotel_store_log_events_total"));
    }

    private static async Task SendAsync(InProcessGateway gateway, IEnumerable<string> lines)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, gateway.SyslogPort);
        await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(string.Concat(lines.Select(l => l + "\n"))));
    }

    private static Task<bool> CountIsAsync(InProcessGateway gateway, long expected) =>
        Eventually.PollAsync(
            async () => await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", "{\"query\":{\"match_all\":{}}}") == expected,
            TimeSpan.FromSeconds(60));

    private static void Execute(string database, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        _ = command.ExecuteNonQuery();
    }
}
