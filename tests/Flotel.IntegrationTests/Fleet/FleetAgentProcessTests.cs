using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.IntegrationTests.Gateway;
using Xunit.Abstractions;

namespace Flotel.IntegrationTests.Fleet;

/// <summary>
/// The fleet control plane with real processes on loopback (docs/fleet.md §4–§5): a <c>flotel gateway</c> with the fleet
/// listener and real <c>flotel agent --gateway</c> processes, each with its own data directory — enrolment, a changed
/// ConfigMap picked up and reported as applied, token reuse refused, the gateway stopped (the agent keeps running and
/// starts again from its last good bundle) and started again (the agent resumes); and a staged rollout (§3.1) whose
/// canary fails to apply a change, halting it while the other agents stay on their generation, until a fix completes it.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class FleetAgentProcessTests(ITestOutputHelper output)
{
    private const int SigTerm = 15;
    private const string AdminToken = "fleet-admin-secret";
    private const string Device = "edge-a";

    [Fact]
    public async Task Agents_EnrolPullApplyAndReport_SurviveAGatewayRestart_AndATokenIsUsedOnce()
    {
        var root = PeerProcess.CreateTempDirectory("fleet-agents");
        var (config, gatewayData, fleetPort) = await WriteGatewayConfigAsync(root);
        var fleetUrl = $"https://127.0.0.1:{fleetPort}";
        FlotelProcess? gateway = null;
        FlotelProcess? agent = null;
        try
        {
            gateway = await StartGatewayAsync(config, gatewayData);
            using var admin = Admin(gateway);
            await ApplyAsync(admin, Device, "127.0.0.1:1");
            var token = await TokenAsync(admin, Device);

            // Enrolment, then the first bundle applied and reported.
            var dataA = Path.Combine(root, "agent-a");
            agent = FlotelProcess.Start(
                "agent", "--gateway", fleetUrl, "--token", token, "--data", dataA,
                "--podman-socket", Path.Combine(root, "no-podman.sock"), "--node-exporter", "http://127.0.0.1:1/metrics");
            Assert.True(
                await agent.WaitForLineAsync(l => l.StartsWith("agent device=edge-a ", StringComparison.Ordinal), TimeSpan.FromSeconds(60)),
                agent.Text);
            Assert.Contains("enrolled device=edge-a", agent.Text, StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dataA, "fleet", "device.key")));
            }

            await WaitForDeviceAsync(admin, d => (long?)d["appliedGeneration"] == 1 && (string?)d["status"] == "applied", "generation 1 applied", agent);
            var device = await DeviceAsync(admin);
            Assert.False(string.IsNullOrEmpty((string?)device["agentVersion"]));
            Assert.NotNull((string?)device["lastSeen"]);

            // The same token again, from another data directory: refused with the gateway's message, exit 1.
            using (var reuse = FlotelProcess.Start("agent", "--gateway", fleetUrl, "--token", token, "--data", Path.Combine(root, "agent-b")))
            {
                Assert.Equal(1, await reuse.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                Assert.Contains("token already used", reuse.Text, StringComparison.Ordinal);
                Assert.False(File.Exists(Path.Combine(root, "agent-b", "fleet", "device.key")));
            }

            // A changed ConfigMap: a new generation, applied by the agent and reported.
            await ApplyAsync(admin, Device, "127.0.0.1:2");
            await WaitForDeviceAsync(admin, d => (long?)d["desiredGeneration"] == 2 && (long?)d["appliedGeneration"] == 2, "generation 2 applied", agent);
            Assert.Contains("127.0.0.1:2", await File.ReadAllTextAsync(Path.Combine(dataA, "fleet", "bundle.yaml")), StringComparison.Ordinal);
            Assert.Contains("\"generation\":2", await File.ReadAllTextAsync(Path.Combine(dataA, "fleet", "bundle.json")), StringComparison.Ordinal);

            // The gateway stops: the agent keeps running; restarted meanwhile, it starts from its last good bundle.
            Assert.Equal(0, await gateway.SignalAndWaitAsync(SigTerm, TimeSpan.FromSeconds(60)));
            gateway.Dispose();
            gateway = null;
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.False(agent.HasExited, agent.Text);
            Assert.Equal(0, await agent.SignalAndWaitAsync(SigTerm, TimeSpan.FromSeconds(60)));
            agent.Dispose();
            agent = FlotelProcess.Start(
                "agent", "--gateway", fleetUrl, "--data", dataA,
                "--podman-socket", Path.Combine(root, "no-podman.sock"), "--node-exporter", "http://127.0.0.1:1/metrics");
            Assert.True(
                await agent.WaitForLineAsync(l => l.StartsWith("agent device=edge-a ", StringComparison.Ordinal), TimeSpan.FromSeconds(60)),
                agent.Text);
            Assert.Contains("Running the last good bundle, generation 2", agent.Text, StringComparison.Ordinal);
            Assert.True(await agent.WaitForLineAsync(l => l.Contains("cannot be used", StringComparison.Ordinal), TimeSpan.FromSeconds(30)), agent.Text);
            await Task.Delay(TimeSpan.FromSeconds(5));

            // The gateway is back on the same port: the agent resumes and takes the next change.
            gateway = await StartGatewayAsync(config, gatewayData);
            using var admin2 = Admin(gateway);
            await ApplyAsync(admin2, Device, "127.0.0.1:3");
            await WaitForDeviceAsync(
                admin2,
                d => (long?)d["desiredGeneration"] == 3 && (long?)d["appliedGeneration"] == 3 && (string?)d["status"] == "applied",
                "generation 3 applied after the restart",
                agent);
            Assert.Equal(1, Count(agent.Text, "The fleet gateway " + fleetUrl + "/ cannot be used"));
            Assert.False(agent.HasExited, agent.Text);
            Assert.Equal(0, await agent.SignalAndWaitAsync(SigTerm, TimeSpan.FromSeconds(60)));
            output.WriteLine(agent.Text);
        }
        finally
        {
            agent?.Dispose();
            gateway?.Dispose();
            GatewayTestKit.DeleteDirectory(root);
        }
    }

    [Fact]
    public async Task Agent_WithALongPollPending_PostsItsStatusAndRemoteWritesOverTheSameConnection_WhichKeepAliveDoesNotCut()
    {
        var root = PeerProcess.CreateTempDirectory("fleet-one-connection");
        // A short keep-alive: an idle connection of the agent (HTTP/1.1's second one, for status) would be closed after
        // it, the connection that holds the long poll must not be.
        var (config, gatewayData, fleetPort) = await WriteGatewayConfigAsync(root, "http:\n  keepAliveTimeoutSeconds: 10\n");
        var fleetUrl = $"https://127.0.0.1:{fleetPort}";
        FlotelProcess? gateway = null;
        FlotelProcess? agent = null;
        try
        {
            gateway = await StartGatewayAsync(config, gatewayData);
            using var admin = Admin(gateway);

            // The fleet listener speaks HTTP/2 when the client offers it by ALPN.
            // CA5359: only the protocol is looked at here; the agents check the certificate.
#pragma warning disable CA5359
            using (var h2 = new HttpClient(new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            }))
#pragma warning restore CA5359
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, fleetUrl + "/fleet/v1/ca")
                {
                    Version = System.Net.HttpVersion.Version20,
                    VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                };
                using var answer = await h2.SendAsync(request);
                Assert.Equal(System.Net.HttpVersion.Version20, answer.Version);
            }

            // Its remote write goes to the fleet listener too (docs/fleet.md §6).
            var remoteWrite = fleetUrl + "/api/v1/write";
            await ApplyAsync(admin, Device, "127.0.0.1:1", remoteWrite);
            var token = await TokenAsync(admin, Device);
            agent = FlotelProcess.Start(
                "agent", "--gateway", fleetUrl, "--token", token, "--data", Path.Combine(root, "agent"),
                "--podman-socket", Path.Combine(root, "no-podman.sock"), "--node-exporter", "http://127.0.0.1:1/metrics");
            await WaitForDeviceAsync(admin, d => (long?)d["appliedGeneration"] == 1 && (string?)d["status"] == "applied", "generation 1 applied", agent);

            // A change: the agent takes the new bundle, polls again at once and reports the apply while that poll is held.
            await ApplyAsync(admin, Device, "127.0.0.1:2", remoteWrite);
            await WaitForDeviceAsync(admin, d => (long?)d["appliedGeneration"] == 2 && (string?)d["status"] == "applied", "generation 2 applied", agent);
            var samples = Stopwatch.StartNew();
            while (await GaugeAsync(admin, "flotel_fleet_identity_overwrites_total") == 0)
            {
                Assert.True(samples.Elapsed < TimeSpan.FromSeconds(60), "no remote write arrived on the fleet listener\n" + agent.Text);
                await Task.Delay(200);
            }

            await WaitForLongPollAsync(admin, agent);
            var connections = TcpConnections(agent.Pid, fleetPort);
            Assert.True(connections.Count == 1, $"the agent holds {connections.Count} connections to the fleet listener: {string.Join(", ", connections)}");

            // Longer than the keep-alive timeout with the poll held: still the same connection, still polling.
            await Task.Delay(TimeSpan.FromSeconds(15));
            Assert.Equal(connections, TcpConnections(agent.Pid, fleetPort));
            Assert.Equal(1, await GaugeAsync(admin, "flotel_fleet_longpolls_waiting"));
            Assert.False(agent.HasExited, agent.Text);
            Assert.Equal(0, await agent.SignalAndWaitAsync(SigTerm, TimeSpan.FromSeconds(60)));
        }
        finally
        {
            agent?.Dispose();
            gateway?.Dispose();
            GatewayTestKit.DeleteDirectory(root);
        }
    }

    [Fact]
    public async Task CanaryRollout_ACanaryThatFailsToApply_HaltsIt_OthersStayOnTheOldGeneration_TheFixCompletesIt()
    {
        var root = PeerProcess.CreateTempDirectory("fleet-canary");
        var (config, gatewayData, fleetPort) = await WriteGatewayConfigAsync(root);
        string[] devices = ["edge-a", "edge-b", "edge-c"];
        FlotelProcess? gateway = null;
        var agents = new List<FlotelProcess>();
        try
        {
            gateway = await StartGatewayAsync(config, gatewayData);
            using var admin = Admin(gateway);
            await ApplyFleetAsync(admin, devices, SyslogTcp("127.0.0.1:1"), null);
            foreach (var device in devices)
            {
                var agent = FlotelProcess.Start("agent", "--gateway", $"https://127.0.0.1:{fleetPort}", "--token", await TokenAsync(admin, device), "--data", Path.Combine(root, device),
                    "--podman-socket", Path.Combine(root, "no-podman.sock"), "--node-exporter", "http://127.0.0.1:1/metrics");
                agents.Add(agent);
            }

            await WaitForFleetAsync(
                admin, d => (long?)d["appliedGeneration"] == 1 && (string?)d["status"] == "applied", "generation 1 applied everywhere", agents);

            // A CA the resolver accepts (it has the PEM lines) but the device cannot load: the syslog target fails to apply.
            var broken = SyslogTcp("127.0.0.1:2").Replace("Protocol: tcp", "Protocol: tls\n  CaSecretName: syslog-ca", StringComparison.Ordinal);
            var badCa = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: syslog-ca\nstringData:\n  ca.crt: |\n    -----BEGIN CERTIFICATE-----\n    MIIB\n    -----END CERTIFICATE-----\n";
            await ApplyFleetAsync(admin, devices, broken, new JsonObject { ["canary"] = "1", ["timeoutSeconds"] = 120 }, badCa);
            var rollout = await RolloutAsync(admin);
            var canary = (string)rollout["canaries"]![0]!["name"]!;
            Assert.Equal(2, rollout["held"]!.AsArray().Count);
            rollout = await WaitForRolloutAsync(admin, r => (string?)r["state"] != "progressing", agents);
            Assert.True((string?)rollout["state"] == "halted", rollout.ToJsonString());
            Assert.StartsWith($"canary {canary} failed to apply generation 2: ", (string)rollout["reason"]!, StringComparison.Ordinal);
            Assert.Equal("failed", (string)rollout["canaries"]![0]!["result"]!);

            // The held devices were never offered generation 2: they still run generation 1 and report it applied.
            await Task.Delay(TimeSpan.FromSeconds(3));
            foreach (var d in (await admin.GetFromJsonAsync<JsonArray>(new Uri("api/fleet/devices", UriKind.Relative)))!.Where(d => (string)d!["name"]! != canary))
            {
                Assert.Equal((1L, 1L, "applied"), ((long)d!["desiredGeneration"]!, (long)d["appliedGeneration"]!, (string)d["status"]!));
            }

            foreach (var device in devices.Where(d => d != canary))
            {
                Assert.Contains("127.0.0.1:1", await File.ReadAllTextAsync(Path.Combine(root, device, "fleet", "bundle.yaml")), StringComparison.Ordinal);
            }

            // The fix, as a new rollout: the canary applies it, the rollout completes, the held devices follow.
            await ApplyFleetAsync(admin, devices, SyslogTcp("127.0.0.1:3"), new JsonObject { ["canary"] = "1", ["timeoutSeconds"] = 120 });
            rollout = await WaitForRolloutAsync(admin, r => (string?)r["state"] != "progressing", agents);
            Assert.True((string?)rollout["state"] == "completed", rollout.ToJsonString());
            Assert.Equal((2L, canary), ((long)rollout["id"]!, (string)rollout["canaries"]![0]!["name"]!));
            await WaitForFleetAsync(
                admin,
                d => (string?)d["status"] == "applied" && (long?)d["appliedGeneration"] == ((string)d["name"]! == canary ? 3 : 2),
                "the fix applied everywhere",
                agents);
            foreach (var device in devices)
            {
                Assert.Contains("127.0.0.1:3", await File.ReadAllTextAsync(Path.Combine(root, device, "fleet", "bundle.yaml")), StringComparison.Ordinal);
            }

            foreach (var agent in agents)
            {
                Assert.Equal(0, await agent.SignalAndWaitAsync(SigTerm, TimeSpan.FromSeconds(60)));
            }

            output.WriteLine(rollout.ToJsonString());
        }
        finally
        {
            foreach (var agent in agents)
            {
                agent.Dispose();
            }

            gateway?.Dispose();
            GatewayTestKit.DeleteDirectory(root);
        }
    }

    private static string SyslogTcp(string address) => $"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: syslog-cm\ndata:\n  Address: {address}\n  Protocol: tcp\n";

    /// <summary>One EdgeDevice per name, each with the syslog target of <paramref name="configMap"/>, applied in one request.</summary>
    private static async Task ApplyFleetAsync(HttpClient admin, string[] devices, string configMap, JsonObject? rollout, params string[] extra)
    {
        var objects = new JsonArray();
        foreach (var device in devices)
        {
            objects.Add(new JsonObject
            {
                ["yaml"] = $"apiVersion: management.project-flotta.io/v1alpha1\nkind: EdgeDevice\nmetadata:\n  name: {device}\nspec:\n  logCollection:\n    syslog1:\n      kind: syslog\n      bufferSize: 64\n      syslogConfig:\n        name: syslog-cm\n",
                ["source"] = device + ".yaml:1",
            });
        }

        objects.Add(new JsonObject { ["yaml"] = configMap, ["source"] = "configmap.yaml:1" });
        foreach (var e in extra)
        {
            objects.Add(new JsonObject { ["yaml"] = e, ["source"] = "extra.yaml:1" });
        }

        using var response = await admin.PostAsJsonAsync(
            new Uri("api/fleet/apply", UriKind.Relative), new JsonObject { ["objects"] = objects, ["rollout"] = rollout });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonObject> RolloutAsync(HttpClient admin) =>
        (await admin.GetFromJsonAsync<JsonObject>(new Uri("api/fleet/rollout", UriKind.Relative)))!;

    private static async Task<JsonObject> WaitForRolloutAsync(HttpClient admin, Func<JsonObject, bool> condition, List<FlotelProcess> agents)
    {
        var deadline = Stopwatch.StartNew();
        JsonObject last;
        do
        {
            last = await RolloutAsync(admin);
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(250);
        }
        while (deadline.Elapsed < TimeSpan.FromSeconds(120));
        Assert.Fail($"timed out waiting for the rollout; rollout: {last.ToJsonString()}\nagents:\n{string.Join("\n---\n", agents.Select(a => a.Text))}");
        return last;
    }

    private static async Task WaitForFleetAsync(HttpClient admin, Func<JsonNode, bool> condition, string what, List<FlotelProcess> agents)
    {
        JsonArray? last = null;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(120))
        {
            last = (await admin.GetFromJsonAsync<JsonArray>(new Uri("api/fleet/devices", UriKind.Relative)))!;
            if (last.Count > 0 && last.All(d => condition(d!)))
            {
                return;
            }

            await Task.Delay(250);
        }

        Assert.Fail($"timed out waiting for {what}; devices: {last?.ToJsonString()}\nagents:\n{string.Join("\n---\n", agents.Select(a => a.Text))}");
    }

    private static int Count(string text, string what)
    {
        var count = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>
    /// The local ports of <paramref name="pid"/>'s established TCP connections to port <paramref name="port"/>: its socket
    /// inodes (<c>/proc/PID/fd</c>) looked up in the kernel's tables (<c>/proc/net/tcp</c>, <c>tcp6</c>), sorted.
    /// </summary>
    private static List<int> TcpConnections(int pid, int port)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                {
                    inodes.Add(target["socket:[".Length..^1]);
                }
            }
            catch (IOException)
            {
                // closed while listed
            }
        }

        var ports = new List<int>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …; addresses HEX:PORT in hex
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9 && fields[3] == "01" && HexPort(fields[2]) == port && inodes.Contains(fields[9]))
                {
                    ports.Add(HexPort(fields[1]));
                }
            }
        }

        ports.Sort();
        return ports;

        static int HexPort(string address) => int.Parse(address[(address.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    /// <summary>The sum of a gauge on the gateway's <c>/metrics</c>.</summary>
    private static async Task<double> GaugeAsync(HttpClient admin, string name)
    {
        var text = await admin.GetStringAsync(new Uri("metrics", UriKind.Relative));
        return text.Split('\n')
            .Where(l => l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "{", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }

    private static async Task WaitForLongPollAsync(HttpClient admin, FlotelProcess agent)
    {
        var deadline = Stopwatch.StartNew();
        while (await GaugeAsync(admin, "flotel_fleet_longpolls_waiting") != 1)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "no long poll held\n" + agent.Text);
            await Task.Delay(100);
        }
    }

    /// <summary>A gateway data directory and configuration under <paramref name="root"/>: the fleet on a free port, admin by bearer token.</summary>
    private static async Task<(string Config, string Data, int FleetPort)> WriteGatewayConfigAsync(string root, string extraYaml = "")
    {
        var data = Path.Combine(root, "gateway");
        Directory.CreateDirectory(data);
        var fleetPort = Loopback.FreePort();
        var config = Path.Combine(root, "gateway.yaml");
        await File.WriteAllTextAsync(config, $"""
            fleet:
              enabled: true
              address: 127.0.0.1:{fleetPort}
            auth:
              admin:
                bearerToken: {AdminToken}
            """ + "\n" + extraYaml);
        return (config, data, fleetPort);
    }

    private static async Task<FlotelProcess> StartGatewayAsync(string config, string data)
    {
        var gateway = FlotelProcess.Start("gateway", "--config", config, "--data", data, "--http", "127.0.0.1:0", "--syslog", "127.0.0.1:0");
        Assert.True(await gateway.WaitForLineAsync(l => l.StartsWith("listening ", StringComparison.Ordinal), TimeSpan.FromSeconds(60)), gateway.Text);
        var line = gateway.Lines.First(l => l.StartsWith("listening ", StringComparison.Ordinal));
        Assert.Contains(" fleet=127.0.0.1:", line, StringComparison.Ordinal);
        var http = line.Split(' ').Single(p => p.StartsWith("http=", StringComparison.Ordinal))["http=".Length..];
        gateway.HttpBase = new Uri("http://" + http + "/");
        return gateway;
    }

    private static HttpClient Admin(FlotelProcess gateway)
    {
        var http = new HttpClient { BaseAddress = gateway.HttpBase, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return http;
    }

    /// <summary>An EdgeDevice whose syslog target reads its address from a ConfigMap (no workloads: nothing needs podman).</summary>
    private static async Task ApplyAsync(HttpClient admin, string device, string syslogAddress, string? remoteWrite = null)
    {
        var deviceYaml = $"""
            apiVersion: management.project-flotta.io/v1alpha1
            kind: EdgeDevice
            metadata:
              name: {device}
            spec:
              logCollection:
                syslog1:
                  kind: syslog
                  bufferSize: 64
                  syslogConfig:
                    name: syslog-cm
            """;
        if (remoteWrite is not null)
        {
            // Metrics every 5 s to that receiver (a failed scrape is still an `up 0` sample to send).
            deviceYaml += $"\n  metrics:\n    receiverConfiguration:\n      url: {remoteWrite}\n    system:\n      interval: 5\n";
        }

        var configMap = $"""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: syslog-cm
            data:
              Address: {syslogAddress}
            """;
        var body = new JsonObject
        {
            ["objects"] = new JsonArray(
                new JsonObject { ["yaml"] = deviceYaml, ["source"] = "device.yaml:1" },
                new JsonObject { ["yaml"] = configMap, ["source"] = "configmap.yaml:1" }),
        };
        using var response = await admin.PostAsJsonAsync(new Uri("api/fleet/apply", UriKind.Relative), body);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<string> TokenAsync(HttpClient admin, string device)
    {
        using var response = await admin.PostAsJsonAsync(
            new Uri("api/fleet/tokens", UriKind.Relative), new JsonObject { ["device"] = device, ["ttlSeconds"] = 3600 });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return (string)JsonNode.Parse(text)!["token"]!;
    }

    private static async Task<JsonNode> DeviceAsync(HttpClient admin)
    {
        var devices = (await admin.GetFromJsonAsync<JsonArray>(new Uri("api/fleet/devices", UriKind.Relative)))!;
        return devices.Single(d => (string?)d!["name"] == Device)!;
    }

    private static async Task WaitForDeviceAsync(HttpClient admin, Func<JsonNode, bool> condition, string what, FlotelProcess agent)
    {
        JsonNode? last = null;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(120))
        {
            last = await DeviceAsync(admin);
            if (condition(last))
            {
                return;
            }

            await Task.Delay(250);
        }

        Assert.Fail($"timed out waiting for {what}; device: {last?.ToJsonString()}\nagent:\n{agent.Text}");
    }

    /// <summary><c>dotnet flotel.dll ARGS</c> with its output kept; signalled by its own PID only.</summary>
    private sealed class FlotelProcess : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];

        private FlotelProcess(Process process) => _process = process;

        public Uri HttpBase { get; set; } = new("http://127.0.0.1/");

        public bool HasExited => _process.HasExited;

        public int Pid => _process.Id;

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public string Text => string.Join('\n', Lines);

        public static FlotelProcess Start(params string[] args)
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            info.ArgumentList.Add(GatewayProcess.FlotelDll);
            foreach (var arg in args)
            {
                info.ArgumentList.Add(arg);
            }

            info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            var process = new Process { StartInfo = info };
            var flotel = new FlotelProcess(process);
            process.OutputDataReceived += (_, e) => flotel.Add(e.Data);
            process.ErrorDataReceived += (_, e) => flotel.Add(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return flotel;
        }

        public async Task<bool> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
        {
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < timeout)
            {
                if (Lines.Any(match))
                {
                    return true;
                }

                if (_process.HasExited)
                {
                    await Task.Delay(200);
                    return Lines.Any(match);
                }

                await Task.Delay(100);
            }

            return false;
        }

        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }

        public async Task<int> SignalAndWaitAsync(int signal, TimeSpan timeout)
        {
            NativeMethods.Kill(_process.Id, signal);
            return await WaitForExitAsync(timeout);
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }

            _process.Dispose();
        }

        private void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lines)
            {
                _lines.Add(line);
            }
        }
    }
}
