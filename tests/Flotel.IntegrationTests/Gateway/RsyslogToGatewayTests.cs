using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// rsyslogd (a real syslog relay) forwarding with omfwd into the gateway's syslog listener: RFC 3164 over TCP with
/// omfwd's default template, RFC 5424 (<c>RSYSLOG_SyslogProtocol23Format</c>) octet-counted over TCP, and UDP.
/// rsyslogd runs with a private config: only imtcp inputs on 127.0.0.1, work directory, pid file and its own
/// internal messages in a temporary directory; no imuxsock/imklog/imjournal, so nothing touches /dev/log.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class RsyslogToGatewayTests
{
    private const string Rsyslogd = "/usr/sbin/rsyslogd";
    private const int LinesPerCase = 200;
    private const string Hostname = "edge-dev-1";

    /// <summary>Facility local3 (19): every line's severity is its number modulo 8.</summary>
    private const int Facility = 19;

    private static readonly string[] SeverityLabels = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"];

    [Fact]
    public async Task Rsyslog_OmfwdTcpUdpAndRfc5424_EveryLineSearchableWithHeaderFields()
    {
        Assert.True(File.Exists(Rsyslogd), "rsyslogd is missing: install the Debian package rsyslog");
        await using var gateway = await InProcessGateway.StartAsync();
        var work = PeerProcess.CreateTempDirectory("rsyslog");
        var run = Guid.NewGuid().ToString("N")[..8];
        (string Name, string Action, int Port)[] cases =
        [
            ("tcp3164", $"action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{gateway.SyslogPort}\" protocol=\"tcp\")", Loopback.FreePort()),
            ("tcp5424", $"action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{gateway.SyslogPort}\" protocol=\"tcp\" template=\"RSYSLOG_SyslogProtocol23Format\" TCP_Framing=\"octet-counted\")", Loopback.FreePort()),
            ("udp", $"action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{gateway.SyslogPort}\" protocol=\"udp\")", Loopback.FreePort()),
        ];
        var config = new StringBuilder();
        config.AppendLine(CultureInfo.InvariantCulture, $"global(workDirectory=\"{work}\" net.enableDNS=\"off\" processInternalMessages=\"on\")");
        config.AppendLine("module(load=\"imtcp\")");
        // The default ruleset only receives rsyslog's own messages: keep them in the temp directory.
        config.AppendLine(CultureInfo.InvariantCulture, $"*.* action(type=\"omfile\" file=\"{Path.Combine(work, "internal.log")}\")");
        foreach (var c in cases)
        {
            config.AppendLine(CultureInfo.InvariantCulture, $"ruleset(name=\"{c.Name}\") {{ {c.Action} }}");
            config.AppendLine(CultureInfo.InvariantCulture, $"input(type=\"imtcp\" port=\"{c.Port}\" address=\"127.0.0.1\" ruleset=\"{c.Name}\")");
        }

        var configFile = Path.Combine(work, "rsyslog.conf");
        await File.WriteAllTextAsync(configFile, config.ToString());
        var start = new ProcessStartInfo(Rsyslogd)
        {
            ArgumentList = { "-n", "-f", configFile, "-i", Path.Combine(work, "rsyslogd.pid") },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = work,
        };
        using var rsyslog = Process.Start(start)!;
        var output = new StringBuilder();
        rsyslog.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        rsyslog.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        rsyslog.BeginOutputReadLine();
        rsyslog.BeginErrorReadLine();
        string Diagnostics()
        {
            var internalLog = Path.Combine(work, "internal.log");
            lock (output)
            {
                return "rsyslogd said:\n" + output + (File.Exists(internalLog) ? "\ninternal.log:\n" + File.ReadAllText(internalLog) : string.Empty);
            }
        }

        try
        {
            foreach (var c in cases)
            {
                using var client = await GatewayTestKit.ConnectAsync(c.Port, () => rsyslog.HasExited, Diagnostics);
                var stream = client.GetStream();
                for (var i = 0; i < LinesPerCase; i++)
                {
                    var pri = (Facility * 8) + (i % 8);
                    var stamp = DateTimeOffset.UtcNow.ToString("MMM dd HH:mm:ss", CultureInfo.InvariantCulture);
                    var line = string.Create(CultureInfo.InvariantCulture, $"<{pri}>{stamp} {Hostname} app-{c.Name}[{1000 + i}]: {Token(run, c.Name)} line {i}\n");
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(line));
                    if (c.Name == "udp" && i % 25 == 24)
                    {
                        // Pace UDP a little: loopback drops nothing at this rate, and a lost datagram is not a gateway bug.
                        await Task.Delay(20);
                    }
                }

                await stream.FlushAsync();
            }

            foreach (var c in cases)
            {
                var token = Token(run, c.Name);
                JsonNode? response = null;
                var complete = await Eventually.PollAsync(async () =>
                {
                    response = await GatewayTestKit.SearchAsync(gateway.Http, "logstash-*",
                        "{\"query\":{\"match\":{\"message\":\"" + token + "\"}},\"size\":1000}");
                    return (long?)response["hits"]?["total"]?["value"] >= LinesPerCase;
                }, TimeSpan.FromSeconds(30));
                Assert.True(complete, $"{c.Name}: {(long?)response?["hits"]?["total"]?["value"]} of {LinesPerCase} lines found\n{Diagnostics()}");
                Assert.Equal(LinesPerCase, (long?)response!["hits"]!["total"]!["value"]);

                var seen = new HashSet<int>();
                foreach (var hit in response["hits"]!["hits"]!.AsArray())
                {
                    var source = hit!["_source"]!;
                    var message = (string)source["message"]!;
                    Assert.StartsWith(token + " line ", message, StringComparison.Ordinal);
                    var i = int.Parse(message[(token.Length + " line ".Length)..], CultureInfo.InvariantCulture);
                    Assert.True(seen.Add(i), $"{c.Name}: line {i} stored twice");
                    Assert.Equal("app-" + c.Name, (string?)source["program"]);
                    Assert.Equal((1000 + i).ToString(CultureInfo.InvariantCulture), (string?)source["pid"]);
                    Assert.Equal(Hostname, (string?)source["logsource"]);
                    Assert.Equal(i % 8, (int)source["severity"]!);
                    Assert.Equal(SeverityLabels[i % 8], (string?)source["severity_label"]);
                    Assert.Equal(Facility, (int)source["facility"]!);
                    Assert.Equal("local3", (string?)source["facility_label"]);
                    Assert.Equal("127.0.0.1", (string?)source["host"]);
                    Assert.True(source["tags"] is null, $"{c.Name}: line {i} tagged {source["tags"]?.ToJsonString()}: {source.ToJsonString()}");
                    Assert.StartsWith("logstash-", (string?)hit["_index"], StringComparison.Ordinal);
                }

                Assert.Equal(LinesPerCase, seen.Count);
            }
        }
        finally
        {
            if (!rsyslog.HasExited)
            {
                rsyslog.Kill(entireProcessTree: false);
            }

            await rsyslog.WaitForExitAsync();
            GatewayTestKit.DeleteDirectory(work);
        }
    }

    private static string Token(string run, string name) => "tok" + run + name;
}
