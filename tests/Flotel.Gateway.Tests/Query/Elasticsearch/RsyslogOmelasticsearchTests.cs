using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Flotel.Gateway.Tests.Query.Elasticsearch;

/// <summary>
/// rsyslog's omelasticsearch (a real Elasticsearch client) writing through <c>_bulk</c> into the gateway: rsyslogd
/// runs with a private config (imtcp on 127.0.0.1, work directory and pid file in a temporary directory, no system
/// paths, no imuxsock) and is stopped by its PID. Needs the Debian packages rsyslog and rsyslog-elasticsearch.
/// </summary>
[Trait("Peer", "rsyslog")]
public sealed class RsyslogOmelasticsearchTests
{
    private const string Rsyslogd = "/usr/sbin/rsyslogd";

    [Fact]
    public async Task Omelasticsearch_BulkMode_DocumentsFoundBySearch()
    {
        Assert.True(File.Exists(Rsyslogd), "rsyslogd is missing: install the Debian packages rsyslog and rsyslog-elasticsearch");
        await using EsTestServer server = await EsTestServer.StartAsync();
        string work = Directory.CreateTempSubdirectory("flotel-rsyslog-").FullName;
        int tcpPort = FreePort();
        string config = Path.Combine(work, "rsyslog.conf");
        await File.WriteAllTextAsync(config, $$"""
            global(workDirectory="{{work}}")
            module(load="imtcp")
            module(load="omelasticsearch")
            template(name="flotel-json" type="list") {
              constant(value="{\"@timestamp\":\"") property(name="timereported" dateFormat="rfc3339" date.inUTC="on")
              constant(value="\",\"message\":\"") property(name="msg" format="json" droplastlf="on")
              constant(value="\",\"logsource\":\"") property(name="hostname" format="json")
              constant(value="\",\"program\":\"") property(name="programname" format="json")
              constant(value="\",\"severity\":") property(name="syslogseverity")
              constant(value=",\"facility\":") property(name="syslogfacility")
              constant(value="}")
            }
            ruleset(name="to-gateway") {
              action(type="omelasticsearch" server="127.0.0.1" serverport="{{server.BaseAddress.Port}}" template="flotel-json"
                     searchIndex="rsyslog-flotel" bulkmode="on" queue.type="direct")
            }
            input(type="imtcp" port="{{tcpPort}}" address="127.0.0.1" ruleset="to-gateway")
            """);
        var start = new ProcessStartInfo(Rsyslogd)
        {
            ArgumentList = { "-n", "-f", config, "-i", Path.Combine(work, "rsyslogd.pid") },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using Process rsyslog = Process.Start(start)!;
        var output = new StringBuilder();
        rsyslog.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        rsyslog.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        rsyslog.BeginOutputReadLine();
        rsyslog.BeginErrorReadLine();
        try
        {
            using TcpClient client = await ConnectAsync(tcpPort, rsyslog, output);
            NetworkStream stream = client.GetStream();
            for (int i = 1; i <= 3; i++)
            {
                byte[] line = Encoding.ASCII.GetBytes($"<14>May 12 20:22:0{i} edge1 app[42]: hello from rsyslog {i}\n");
                await stream.WriteAsync(line);
            }

            await stream.FlushAsync();
            JsonNode? response = null;
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                using HttpResponseMessage http = await server.Client.GetAsync("/rsyslog-*/_search?q=message:rsyslog&sort=@timestamp:asc");
                response = JsonNode.Parse(await http.Content.ReadAsStringAsync());
                if ((long?)response?["hits"]?["total"]?["value"] == 3)
                {
                    break;
                }

                await Task.Delay(100);
            }

            string log;
            lock (output)
            {
                log = output.ToString();
            }

            Assert.True((long?)response?["hits"]?["total"]?["value"] == 3, $"rsyslog's documents did not arrive: {response?.ToJsonString()}\nrsyslogd said:\n{log}");
            JsonArray hits = response!["hits"]!["hits"]!.AsArray();
            // rsyslog's msg property keeps the space after the RFC 3164 TAG; the gateway stores _source as sent.
            Assert.Equal([" hello from rsyslog 1", " hello from rsyslog 2", " hello from rsyslog 3"], hits.Select(h => (string?)h!["_source"]!["message"]));
            JsonNode first = hits[0]!;
            Assert.Equal("rsyslog-flotel", (string?)first["_index"]);
            Assert.Equal("app", (string?)first["_source"]!["program"]);
            Assert.Equal("edge1", (string?)first["_source"]!["logsource"]);
            Assert.Equal(6, (int)first["_source"]!["severity"]!);
            Assert.Equal(1, (int)first["_source"]!["facility"]!);
            Assert.EndsWith("-05-12T20:22:01", ((string)first["_source"]!["@timestamp"]!)[..19], StringComparison.Ordinal);
        }
        finally
        {
            if (!rsyslog.HasExited)
            {
                rsyslog.Kill();
            }

            await rsyslog.WaitForExitAsync();
            Directory.Delete(work, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<TcpClient> ConnectAsync(int port, Process rsyslog, StringBuilder output)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port);
                return client;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(10) && !rsyslog.HasExited)
            {
                client.Dispose();
                await Task.Delay(50);
            }
            catch (SocketException)
            {
                client.Dispose();
                string log;
                lock (output)
                {
                    log = output.ToString();
                }

                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"rsyslogd's imtcp on port {port} did not listen (exited: {rsyslog.HasExited}): {log}"));
            }
        }
    }
}
