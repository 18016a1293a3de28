using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Hosting;
using Flotel.Wire.RemoteWrite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// A gateway started in-process on 127.0.0.1 port 0 (HTTP and syslog) with a private data directory, stopped and
/// deleted on Dispose.
/// </summary>
internal sealed class InProcessGateway : IAsyncDisposable
{
    private InProcessGateway(GatewayHost host, string data)
    {
        Host = host;
        DataDirectory = data;
        Http = new HttpClient { BaseAddress = new Uri("http://" + host.HttpEndPoint), Timeout = TimeSpan.FromSeconds(15) };
    }

    public GatewayHost Host { get; }

    public string DataDirectory { get; }

    public HttpClient Http { get; }

    public int SyslogPort => Host.SyslogEndPoint.Port;

    public static async Task<InProcessGateway> StartAsync(Action<GatewayOptions>? configure = null)
    {
        var data = PeerProcess.CreateTempDirectory("gateway");
        var options = new GatewayOptions
        {
            DataDirectory = data,
            HttpAddress = "127.0.0.1:0",
            SyslogAddress = "127.0.0.1:0",
            LogRetentionDays = 0,
            MetricRetentionDays = 0,
        };
        configure?.Invoke(options);
        try
        {
            var host = await GatewayHost.StartAsync(options, NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);
            return new InProcessGateway(host, data);
        }
        catch
        {
            Directory.Delete(data, recursive: true);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.StopAsync();
        GatewayTestKit.DeleteDirectory(DataDirectory);
    }
}

/// <summary>
/// <c>dotnet flotel.dll gateway</c> as a real process: ready when it printed its <c>listening …</c> line; stopped by
/// its PID with SIGTERM (clean) or SIGKILL (crash).
/// </summary>
internal sealed class GatewayProcess : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private GatewayProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public IPEndPoint HttpEndPoint { get; private set; } = new(IPAddress.None, 0);

    public IPEndPoint SyslogEndPoint { get; private set; } = new(IPAddress.None, 0);

    /// <summary>The fleet listener, when the configuration enables it (<c>fleet=</c> on the listening line).</summary>
    public IPEndPoint? FleetEndPoint { get; private set; }

    public HttpClient Http { get; private set; } = new();

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>flotel.dll next to this test assembly (copied by the ProjectReference to Flotel.Cli).</summary>
    public static string FlotelDll
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "flotel.dll");
            Assert.True(File.Exists(path), "flotel.dll is not next to the test assembly: " + path);
            Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "flotel.runtimeconfig.json")), "flotel.runtimeconfig.json is missing next to flotel.dll");
            return path;
        }
    }

    /// <summary>
    /// Runs <c>dotnet flotel.dll ARGS</c> to its exit (60 s at most) with <paramref name="adminToken"/> in
    /// FLOTEL_ADMIN_TOKEN (null: the variable is removed, not inherited), and returns its exit code and output.
    /// </summary>
    public static async Task<(int Code, string Output, string Error)> RunCliAsync(string? adminToken, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(FlotelDll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["FLOTEL_ADMIN_TOKEN"] = adminToken;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new InvalidOperationException($"flotel {string.Join(' ', args)} did not exit within 60 s");
        }

        return (process.ExitCode, await output, await error);
    }

    public static async Task<GatewayProcess> StartAsync(string dataDirectory, IReadOnlyDictionary<string, string?>? environment = null, IEnumerable<string>? extraArguments = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory,
        };
        foreach (var arg in new[] { FlotelDll, "gateway", "--data", dataDirectory, "--http", "127.0.0.1:0", "--syslog", "127.0.0.1:0" }.Concat(extraArguments ?? []))
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info };
        var gateway = new GatewayProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.StartsWith("listening ", StringComparison.Ordinal))
            {
                gateway._listening.TrySetResult(line);
            }
            else if (e.Data is not null)
            {
                gateway.AppendStderr("stdout: " + e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) => gateway.AppendStderr(e.Data);
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            var exited = process.WaitForExitAsync();
            var first = await Task.WhenAny(gateway._listening.Task, exited, Task.Delay(StartTimeout));
            if (first != gateway._listening.Task)
            {
                throw new InvalidOperationException($"flotel gateway did not print its listening line (exited: {process.HasExited}):\n{gateway.Stderr}");
            }

            gateway.ParseListening(await gateway._listening.Task);
        }
        catch
        {
            gateway.Dispose();
            throw;
        }

        return gateway;
    }

    private void ParseListening(string line)
    {
        // listening syslog=127.0.0.1:PORT http=127.0.0.1:PORT
        foreach (var part in line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var endpoint = IPEndPoint.Parse(part[(eq + 1)..]);
            if (part.StartsWith("syslog=", StringComparison.Ordinal))
            {
                SyslogEndPoint = endpoint;
            }
            else if (part.StartsWith("http=", StringComparison.Ordinal))
            {
                HttpEndPoint = endpoint;
            }
            else if (part.StartsWith("fleet=", StringComparison.Ordinal))
            {
                FleetEndPoint = endpoint;
            }
        }

        Assert.True(HttpEndPoint.Port > 0 && SyslogEndPoint.Port > 0, "bad listening line: " + line);
        Http.Dispose();
        Http = new HttpClient { BaseAddress = new Uri("http://" + HttpEndPoint), Timeout = TimeSpan.FromSeconds(15) };
    }

    private void AppendStderr(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_stderr)
        {
            _stderr.AppendLine(line);
            if (_stderr.Length > 32 * 1024)
            {
                _stderr.Remove(0, _stderr.Length - (32 * 1024));
            }
        }
    }

    /// <summary>Sends <paramref name="signal"/> to this PID only and waits up to <paramref name="timeout"/> for the exit; returns the exit code or null.</summary>
    public async Task<int?> SignalAndWaitAsync(int signal, TimeSpan timeout)
    {
        Assert.Equal(0, NativeMethods.Kill(_process.Id, signal));
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        Http.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        finally
        {
            _process.Dispose();
        }
    }
}

/// <summary>Helpers shared by the gateway integration tests.</summary>
internal static class GatewayTestKit
{
    public static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public static async Task<JsonNode> SearchAsync(HttpClient http, string indexPattern, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(indexPattern + "/_search", UriKind.Relative), content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"_search answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    public static async Task<long> CountAsync(HttpClient http, string indexPattern, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(indexPattern + "/_count", UriKind.Relative), content);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return 0;
        }

        Assert.True(response.IsSuccessStatusCode, $"_count answered {(int)response.StatusCode}: {text}");
        return (long)JsonNode.Parse(text)!["count"]!;
    }

    /// <summary>GET /api/v1/query; returns the result array (vector) or null when not success.</summary>
    public static async Task<JsonArray?> InstantQueryAsync(HttpClient http, string query, long? timeSeconds = null)
    {
        var url = "api/v1/query?query=" + Uri.EscapeDataString(query);
        if (timeSeconds is { } t)
        {
            url += "&time=" + t.ToString(CultureInfo.InvariantCulture);
        }

        using var response = await http.GetAsync(new Uri(url, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"/api/v1/query {query} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)?["data"]?["result"]?.AsArray();
    }

    public static HttpRequestMessage RemoteWrite(byte[] body, string contentType = RemoteWriteHeaders.ContentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        content.Headers.ContentEncoding.Add(RemoteWriteHeaders.ContentEncoding);
        var message = new HttpRequestMessage(HttpMethod.Post, new Uri("api/v1/write", UriKind.Relative)) { Content = content };
        message.Headers.Add(RemoteWriteHeaders.VersionName, RemoteWriteHeaders.Version);
        return message;
    }

    public static async Task<TcpClient> ConnectAsync(int port, Func<bool> gaveUp, Func<string> diagnostics)
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
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(15) && !gaveUp())
            {
                client.Dispose();
                await Task.Delay(50);
            }
            catch (SocketException)
            {
                client.Dispose();
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"nothing listens on 127.0.0.1:{port}: {diagnostics()}"));
            }
        }
    }

    /// <summary>Reads one value from Prometheus text exposition (exact series text, e.g. <c>name{a="b"}</c>); null when absent.</summary>
    public static double? ExpositionValue(string exposition, string series)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                var value = line[(series.Length + 1)..].Trim().Split(' ')[0];
                return double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}

/// <summary>Signals one PID with /bin/kill (no broad kills: this PID only).</summary>
internal static class NativeMethods
{
    public static int Kill(int pid, int signal)
    {
        var info = new ProcessStartInfo("kill") { UseShellExecute = false };
        info.ArgumentList.Add("-" + signal.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add(pid.ToString(CultureInfo.InvariantCulture));
        using var kill = Process.Start(info)!;
        kill.WaitForExit(10_000);
        return kill.ExitCode;
    }
}
