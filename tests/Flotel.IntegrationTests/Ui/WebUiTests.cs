using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Flotel.IntegrationTests.Gateway;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;
using Microsoft.Playwright;

namespace Flotel.IntegrationTests.Ui;

/// <summary>
/// The web UI in a real headless Chromium (Debian's, driven by Playwright) against an in-process gateway fed over its
/// real syslog and remote-write inputs: each view shows what the query APIs hold.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class WebUiTests : IAsyncLifetime
{
    private const string Device = "edge-device-1";
    private InProcessGateway _gateway = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private IPage _page = null!;

    /// <summary>What the browser reported about the Content-Security-Policy: every view must work within it.</summary>
    private readonly List<string> _policyViolations = [];

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: test.sh installs the Debian package chromium");
        _gateway = await InProcessGateway.StartAsync();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        _page = await _browser.NewPageAsync();
        _page.SetDefaultTimeout(20_000);
        _page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                lock (_policyViolations)
                {
                    _policyViolations.Add(message.Text);
                }
            }
        };
    }

    public async Task DisposeAsync()
    {
        lock (_policyViolations)
        {
            Assert.True(_policyViolations.Count == 0, "Content-Security-Policy violations:\n" + string.Join("\n", _policyViolations));
        }

        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _gateway.DisposeAsync();
    }

    private static string ChromiumPath => "/usr/bin/chromium";

    private string Url(string path) => "http://" + _gateway.Host.HttpEndPoint + path;

    [Fact]
    public async Task LogsView_SearchesExpandsAndTails_TheDeviceLines()
    {
        await SendSyslogAsync(Line(1, 6, "New message at: first"), Line(2, 3, "disk failed"));
        await WaitForCountAsync(2);

        await _page.GotoAsync(Url("/ui/#/logs"));
        await _page.FillAsync("#logs-query", "program:random-workload");
        await _page.ClickAsync("#logs-form button");
        var rows = _page.Locator("#logs-table tbody tr.event");
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        await Assertions.Expect(_page.Locator("#logs-summary")).ToContainTextAsync("2 events");
        var error = rows.Filter(new() { HasText = "disk failed" });
        var info = rows.Filter(new() { HasText = "New message at: first" });
        await Assertions.Expect(error.Locator(".sev")).ToHaveClassAsync("sev sev-3");
        await Assertions.Expect(error.Locator(".sev")).ToHaveTextAsync("Error");
        await Assertions.Expect(info.Locator(".sev")).ToHaveClassAsync("sev sev-6");

        await info.ClickAsync();
        var details = _page.Locator("#logs-table tr.details pre");
        await Assertions.Expect(details).ToContainTextAsync("\"facility_label\": \"user-level\"");
        await Assertions.Expect(details).ToContainTextAsync($"\"logsource\": \"{Device}\"");

        await _page.FillAsync("#logs-query", "message:\"disk failed\"");
        await _page.ClickAsync("#logs-form button");
        await Assertions.Expect(rows).ToHaveCountAsync(1);

        await _page.FillAsync("#logs-query", "program:random-workload");
        await _page.ClickAsync("#logs-form button");
        await _page.CheckAsync("#logs-tail");
        await SendSyslogAsync(Line(3, 6, "New message at: tailed"));
        await Assertions.Expect(rows.First).ToContainTextAsync("New message at: tailed", new() { Timeout = 30_000 });
    }

    [Fact]
    public async Task LogsView_VolumeHistogram_DrawsBarsOfTheQueriedEvents()
    {
        await SendSyslogAsync(Line(1, 6, "volume one"), Line(2, 6, "volume two"), Line(3, 3, "volume three"));
        await WaitForCountAsync(3);

        await _page.GotoAsync(Url("/ui/#/logs"));
        await _page.SelectOptionAsync("#logs-range", "now-15m");
        await _page.ClickAsync("#logs-form button");

        // 15 minutes in 15 s bars from the date_histogram (min_doc_count 0 over extended_bounds): 60 or 61 bars,
        // of which the one or two holding the three events are drawn filled, with their counts in the tooltips.
        var bars = _page.Locator("#logs-volume svg rect.bar");
        await Assertions.Expect(bars.First).ToBeAttachedAsync();
        Assert.InRange(await bars.CountAsync(), 60, 61);
        var filled = _page.Locator("#logs-volume svg rect.bar:not(.empty)");
        Assert.InRange(await filled.CountAsync(), 1, 2);
        int total = await _page.EvaluateAsync<int>(
            "() => [...document.querySelectorAll('#logs-volume rect.bar:not(.empty) title')].reduce((n, t) => n + Number(t.textContent.split(': ')[1]), 0)");
        Assert.Equal(3, total);
        Assert.True(await filled.First.GetAttributeAsync("height") is { } height && double.Parse(height, CultureInfo.InvariantCulture) > 0);

        // The histogram follows the query: one event matches, so one filled bar holding 1.
        await _page.FillAsync("#logs-query", "message:\"volume three\"");
        await _page.ClickAsync("#logs-form button");
        await Assertions.Expect(filled).ToHaveCountAsync(1);
        await Assertions.Expect(filled.Locator("title")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(": 1$"));
    }

    [Fact]
    public async Task LogsView_BadQuery_ShowsTheGatewaysError()
    {
        await _page.GotoAsync(Url("/ui/#/logs"));
        await _page.FillAsync("#logs-query", "program:(unclosed");
        await _page.ClickAsync("#logs-form button");
        await Assertions.Expect(_page.Locator("#logs-summary .error")).ToContainTextAsync("HTTP 400");
    }

    [Fact]
    public async Task MetricsView_DrawsOneLinePerSeries_WithLabelsInTheLegend()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await RemoteWriteAsync(
            Series("node_memory_Mapped_bytes", Device, [(now - 60_000, 1000), (now - 30_000, 2000), (now - 1000, 1500)]),
            Series("node_memory_Mapped_bytes", "edge-device-2", [(now - 60_000, 10), (now - 1000, 20)]),
            Series("node_disk_io_now", Device, [(now - 1000, 3)]));

        await _page.GotoAsync(Url("/ui/#/metrics"));
        await Assertions.Expect(_page.Locator("#metric-names option[value=node_disk_io_now]")).ToHaveCountAsync(1);
        await _page.FillAsync("#metrics-name", "node_memory_Mapped_bytes");
        await _page.ClickAsync("#metrics-form button");
        await Assertions.Expect(_page.Locator("#chart svg path")).ToHaveCountAsync(2);
        await Assertions.Expect(_page.Locator("#legend li")).ToHaveCountAsync(2);
        await Assertions.Expect(_page.Locator("#legend")).ToContainTextAsync($"edgedeviceid=\"{Device}\"");

        await _page.FillAsync("#metrics-filter", "edgedeviceid=\"edge-device-2\"");
        await _page.ClickAsync("#metrics-form button");
        await Assertions.Expect(_page.Locator("#chart svg path")).ToHaveCountAsync(1);
        await Assertions.Expect(_page.Locator("#metrics-summary")).ToContainTextAsync("1 series");
    }

    [Fact]
    public async Task DevicesView_ListsEachDevice_WithItsLogAndSampleRates()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await SendSyslogAsync(Line(1, 6, "a"), Line(2, 6, "b"), Line(3, 6, "c"));
        // Two metric names with otherwise equal labels: the per-device rate must not hit "same labelset".
        await RemoteWriteAsync(
            Series("node_disk_io_now", "edge-device-9", [(now - 2000, 1), (now - 1000, 2)]),
            Series("node_memory_Mapped_bytes", "edge-device-9", [(now - 1500, 7)]));
        await WaitForCountAsync(3);

        await _page.GotoAsync(Url("/ui/"));
        var row = _page.Locator($"#devices-table tr[data-device=\"{Device}\"]");
        await Assertions.Expect(row.Locator("td").Nth(2)).ToHaveTextAsync("3");
        var metricsOnly = _page.Locator("#devices-table tr[data-device=\"edge-device-9\"]");
        await Assertions.Expect(metricsOnly.Locator("td").Nth(1)).ToHaveTextAsync("—");
        await Assertions.Expect(metricsOnly.Locator("td").Nth(4)).ToHaveTextAsync("3");
        await Assertions.Expect(_page.Locator("#status")).ToHaveTextAsync(string.Empty);
    }

    [Fact]
    public async Task BearerQueryAuth_ThePageAsksForTheToken_KeepsItForTheTab_AndShowsTheData()
    {
        await using var secured = await InProcessGateway.StartAsync(o => o.QueryAuth = new Flotel.Gateway.Configuration.AuthOptions
        {
            BearerToken = new Flotel.Model.SecretValue("ui-token"),
        });
        using (var client = new TcpClient())
        {
            await client.ConnectAsync("127.0.0.1", secured.SyslogPort);
            await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(Line(1, 6, "behind a token") + "\n"));
        }

        using var query = new HttpClient { BaseAddress = secured.Http.BaseAddress };
        query.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "ui-token");
        Assert.True(await Eventually.PollAsync(async () => await GatewayTestKit.CountAsync(query, "_all", "{\"query\":{\"match_all\":{}}}") >= 1, TimeSpan.FromSeconds(30)));

        var url = "http://" + secured.Host.HttpEndPoint + "/ui/#/logs";
        await _page.GotoAsync(url);
        await Assertions.Expect(_page.Locator("#token-form")).ToBeVisibleAsync();
        await Assertions.Expect(_page.Locator("#token-message")).ToContainTextAsync("needs a query token");

        await _page.FillAsync("#token", "wrong");
        await _page.ClickAsync("#token-form button");
        await Assertions.Expect(_page.Locator("#token-message")).ToContainTextAsync("refused");

        await _page.FillAsync("#token", "ui-token");
        await _page.ClickAsync("#token-form button");
        await Assertions.Expect(_page.Locator("#token-form")).ToBeHiddenAsync();
        await Assertions.Expect(_page.Locator("#logs-table tbody tr.event")).ToHaveCountAsync(1);
        Assert.Equal("ui-token", await _page.EvaluateAsync<string>("() => sessionStorage.getItem('flotel.queryToken')"));

        // A reload in the same tab keeps the token; forgetting it brings the question back.
        await _page.ReloadAsync();
        await Assertions.Expect(_page.Locator("#logs-table tbody tr.event")).ToHaveCountAsync(1);
        await _page.ClickAsync("#token-forget");
        await Assertions.Expect(_page.Locator("#token-form")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task FleetView_AskedForTheAdminToken_ListsTheReportedDevice_AndItsPanelLinksToItsLogsAndMetrics()
    {
        const string adminToken = "ui-admin-token";
        await using var fleet = await InProcessGateway.StartAsync(o =>
        {
            o.Fleet = new Flotel.Gateway.Configuration.FleetOptions { Enabled = true, Address = "127.0.0.1:0" };
            o.AdminAuth = new Flotel.Gateway.Configuration.AuthOptions { BearerToken = new Flotel.Model.SecretValue(adminToken) };
        });
        var admin = "http://" + fleet.Host.HttpEndPoint;
        var apply = await FlotelAsync(adminToken, "apply", "-f", Path.Combine(TestPaths.RepoRoot(), "examples", "blog"), "--gateway", admin);
        Assert.True(apply.Code == 0, apply.Error);
        var token = await FlotelAsync(adminToken, "token", "create", "--device", Device, "--gateway", admin);
        Assert.True(token.Code == 0, token.Error);

        // The device as an enrolled agent reports it: the bundle's generation applied, one workload, one log target.
        var fleetUrl = new Uri("https://" + fleet.Host.FleetEndPoint);
        var (device, status, error) = await Flotel.Gateway.Tests.Fleet.FleetDeviceClient.EnrollAsync(fleetUrl, token.Output.Trim());
        Assert.True(device is not null, $"enrolment: {status} {error}");
        using (device)
        {
            var (_, bundle, _) = await device.GetBundleAsync(null, 0);
            Assert.Equal(System.Net.HttpStatusCode.NoContent, await device.PostStatusAsync(new System.Text.Json.Nodes.JsonObject
            {
                ["agentVersion"] = "0.2.0+ui", ["generation"] = (long)bundle!["generation"]!, ["digest"] = (string)bundle["digest"]!,
                ["applyStatus"] = "applied",
                ["workloads"] = new System.Text.Json.Nodes.JsonArray(
                    new System.Text.Json.Nodes.JsonObject { ["name"] = "random-workload", ["state"] = "running" }),
                ["targets"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
                {
                    ["name"] = "logstash-syslog", ["bufferBytes"] = 2560, ["bufferLimitBytes"] = 10240, ["dropped"] = 7,
                }),
                ["walBacklogBytes"] = 0,
            }));
            // Flotta's layout with a container id: the gateway takes device_id from the hostname (architecture §5).
            using (var client = new TcpClient())
            {
                await client.ConnectAsync("127.0.0.1", fleet.SyslogPort);
                var containerId = string.Concat(Enumerable.Repeat("0123456789abcdef", 4));
                await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(Line(1, 6, containerId + ": from the fleet device") + "\n"));
            }

            await _page.GotoAsync(admin + "/ui/#/fleet");
            await Assertions.Expect(_page.Locator("#token-message")).ToContainTextAsync("needs an admin token");
            await _page.FillAsync("#token", adminToken);
            await _page.ClickAsync("#token-form button");
            await Assertions.Expect(_page.Locator("#token-form")).ToBeHiddenAsync();
            Assert.Equal(adminToken, await _page.EvaluateAsync<string>("() => sessionStorage.getItem('flotel.adminToken')"));

            var row = _page.Locator($"#fleet-table tr[data-device=\"{Device}\"]");
            var cells = row.Locator("td");
            await Assertions.Expect(cells.Nth(1)).ToHaveTextAsync("applied");
            await Assertions.Expect(cells.Nth(2)).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("s ago$"));
            await Assertions.Expect(cells.Nth(3)).ToHaveTextAsync("1 / 1");
            await Assertions.Expect(cells.Nth(4)).ToHaveTextAsync("random-workload running");
            await Assertions.Expect(cells.Nth(5)).ToHaveTextAsync("25 % (2.5 KiB of 10.0 KiB)");
            await Assertions.Expect(cells.Nth(6)).ToHaveTextAsync("7");
            await Assertions.Expect(cells.Nth(7)).ToHaveTextAsync(string.Empty);
            await Assertions.Expect(cells.Nth(8)).ToHaveTextAsync("0.2.0+ui");

            // A second agent with the same certificate, and a failed apply: both show after the next refresh.
            using var twin = Flotel.Gateway.Tests.Fleet.FleetDeviceClient.WithCertificate(fleetUrl, device.Ca, device.Certificate!, instance: "instance-2");
            Assert.Equal(System.Net.HttpStatusCode.NoContent, await twin.PostStatusAsync(new System.Text.Json.Nodes.JsonObject
            {
                ["agentVersion"] = "0.2.0+ui", ["generation"] = (long)bundle["generation"]!, ["digest"] = (string)bundle["digest"]!, ["applyStatus"] = "failed",
                ["applyErrors"] = new System.Text.Json.Nodes.JsonArray("podman: no space left on device"),
            }));
            await _page.ReloadAsync();
            await Assertions.Expect(cells.Nth(1)).ToHaveTextAsync("failed duplicate identity");
            await Assertions.Expect(cells.Nth(7)).ToHaveTextAsync($"edgedevice/{Device}: podman: no space left on device");

            await row.Locator("a").ClickAsync();
            await Assertions.Expect(_page.Locator("#fleet-device")).ToBeVisibleAsync();
            await Assertions.Expect(_page.Locator("#fleet-device-name")).ToHaveTextAsync(Device);
            await Assertions.Expect(_page.Locator("#fleet-device-facts")).ToContainTextAsync("yes: two agents report with this device's certificate");
            await Assertions.Expect(_page.Locator("#fleet-device-errors li")).ToHaveTextAsync($"edgedevice/{Device}: podman: no space left on device");

            await _page.ClickAsync("#fleet-device-metrics");
            await Assertions.Expect(_page.Locator("#view-metrics")).ToBeVisibleAsync();
            await Assertions.Expect(_page.Locator("#metrics-filter")).ToHaveValueAsync($"edgedeviceid=\"{Device}\"");

            await _page.GoBackAsync();
            await _page.ClickAsync("#fleet-device-logs");
            await Assertions.Expect(_page.Locator("#logs-query")).ToHaveValueAsync($"device_id:\"{Device}\"");
            await Assertions.Expect(_page.Locator("#logs-table tbody tr.event")).ToHaveCountAsync(1);
            await Assertions.Expect(_page.Locator("#logs-table tbody tr.event")).ToContainTextAsync("from the fleet device");
        }
    }

    [Fact]
    public async Task FleetView_HaltedRollout_ShowsItsReasonAndCanary_AndMarksCanaryAndHeldDevices()
    {
        const string adminToken = "ui-admin-token";
        await using var fleet = await InProcessGateway.StartAsync(o =>
        {
            o.Fleet = new Flotel.Gateway.Configuration.FleetOptions { Enabled = true, Address = "127.0.0.1:0" };
            o.AdminAuth = new Flotel.Gateway.Configuration.AuthOptions { BearerToken = new Flotel.Model.SecretValue(adminToken) };
        });
        using var admin = new HttpClient { BaseAddress = new Uri("http://" + fleet.Host.HttpEndPoint + "/") };
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminToken);
        string[] devices = ["ui-a", "ui-b", "ui-c"];
        await ApplyFleetAsync(admin, devices, "v1", canary: null);
        await ApplyFleetAsync(admin, devices, "v2", canary: "1");
        var rollout = System.Text.Json.Nodes.JsonNode.Parse(await admin.GetStringAsync(new Uri("api/fleet/rollout", UriKind.Relative)))!;
        var canary = (string)rollout["canaries"]![0]!["name"]!;
        var held = devices.Where(d => d != canary).ToList();

        // The canary, enrolled, fails to apply the change: the rollout halts naming it.
        using (var tokenAnswer = await admin.PostAsync(
            new Uri("api/fleet/tokens", UriKind.Relative),
            new StringContent($"{{\"device\": \"{canary}\", \"ttlSeconds\": 600}}", Encoding.UTF8, "application/json")))
        {
            var tokenText = (string)System.Text.Json.Nodes.JsonNode.Parse(await tokenAnswer.Content.ReadAsStringAsync())!["token"]!;
            var fleetUrl = new Uri("https://" + fleet.Host.FleetEndPoint);
            var (device, status, error) = await Flotel.Gateway.Tests.Fleet.FleetDeviceClient.EnrollAsync(fleetUrl, tokenText);
            Assert.True(device is not null, $"enrolment: {status} {error}");
            using (device)
            {
                Assert.Equal(System.Net.HttpStatusCode.NoContent, await device.PostStatusAsync(new System.Text.Json.Nodes.JsonObject
                {
                    ["agentVersion"] = "0.2.0+ui", ["generation"] = 1L, ["applyStatus"] = "failed",
                    ["applyErrors"] = new System.Text.Json.Nodes.JsonArray("workloads: image busybox:v2 not found"),
                }));
            }
        }

        await _page.GotoAsync("http://" + fleet.Host.HttpEndPoint + "/ui/#/fleet");
        await _page.FillAsync("#token", adminToken);
        await _page.ClickAsync("#token-form button");
        await Assertions.Expect(_page.Locator("#fleet-rollout")).ToBeVisibleAsync();
        await Assertions.Expect(_page.Locator("#fleet-rollout-id")).ToHaveTextAsync("1");
        await Assertions.Expect(_page.Locator("#fleet-rollout-state")).ToHaveTextAsync("halted");
        await Assertions.Expect(_page.Locator("#fleet-rollout-reason")).ToContainTextAsync(canary);
        await Assertions.Expect(_page.Locator("#fleet-rollout-reason")).ToContainTextAsync("image busybox:v2 not found");
        await Assertions.Expect(_page.Locator("#fleet-rollout-facts")).ToContainTextAsync("1 (1): 0 applied, 1 failed, 0 pending");
        await Assertions.Expect(_page.Locator("#fleet-rollout-facts")).ToContainTextAsync("2: " + string.Join(", ", held));
        await Assertions.Expect(_page.Locator("#fleet-rollout-facts")).ToContainTextAsync("edgeworkload/ui-app");
        var canaryRow = _page.Locator($"#fleet-rollout-canaries tr[data-canary=\"{canary}\"] td");
        await Assertions.Expect(canaryRow.Nth(1)).ToHaveTextAsync("failed");
        await Assertions.Expect(canaryRow.Nth(2)).ToHaveTextAsync("1 / 2");
        await Assertions.Expect(canaryRow.Nth(3)).ToHaveTextAsync("workloads: image busybox:v2 not found");
        await Assertions.Expect(_page.Locator("#fleet-rollout")).ToContainTextAsync("flotel rollout promote");

        await Assertions.Expect(_page.Locator($"#fleet-table tr[data-device=\"{canary}\"] td").Nth(1)).ToHaveTextAsync("failed canary: failed");
        foreach (var name in held)
        {
            await Assertions.Expect(_page.Locator($"#fleet-table tr[data-device=\"{name}\"] td").Nth(1)).ToHaveTextAsync("pending held");
        }

        // Promoted (on the admin API, as the CLI does): the rollout has ended and nothing is marked any more.
        using (var promoted = await admin.PostAsync(new Uri("api/fleet/rollout/promote", UriKind.Relative), null))
        {
            Assert.True(promoted.IsSuccessStatusCode, await promoted.Content.ReadAsStringAsync());
        }

        await _page.ReloadAsync();
        await Assertions.Expect(_page.Locator("#fleet-rollout-state")).ToHaveTextAsync("promoted");
        await Assertions.Expect(_page.Locator("#fleet-table tr[data-rollout=\"held\"]")).ToHaveCountAsync(0);
        await Assertions.Expect(_page.Locator("#fleet-table tr[data-rollout=\"canary\"]")).ToHaveCountAsync(0);
    }

    /// <summary>EdgeDevices labelled app: ui and one workload on all of them running <c>busybox:TAG</c>, through the admin API.</summary>
    private static async Task ApplyFleetAsync(HttpClient admin, string[] devices, string tag, string? canary)
    {
        var objects = new System.Text.Json.Nodes.JsonArray();
        foreach (var device in devices)
        {
            objects.Add(new System.Text.Json.Nodes.JsonObject
            {
                ["yaml"] = "apiVersion: management.project-flotta.io/v1alpha1\nkind: EdgeDevice\n"
                    + $"metadata: {{name: {device}, labels: {{app: ui}}}}\nspec: {{}}\n",
                ["source"] = device + ".yaml:1",
            });
        }

        objects.Add(new System.Text.Json.Nodes.JsonObject
        {
            ["yaml"] = "apiVersion: management.project-flotta.io/v1alpha1\nkind: EdgeWorkload\nmetadata: {name: ui-app}\n"
                + "spec:\n  deviceSelector: {matchLabels: {app: ui}}\n  type: pod\n"
                + $"  pod: {{spec: {{containers: [{{name: c, image: \"busybox:{tag}\"}}]}}}}\n",
            ["source"] = "workload.yaml:1",
        });
        var body = new System.Text.Json.Nodes.JsonObject { ["objects"] = objects };
        if (canary is not null)
        {
            body["rollout"] = new System.Text.Json.Nodes.JsonObject { ["canary"] = canary, ["timeoutSeconds"] = 3600 };
        }

        using var response = await admin.PostAsync(
            new Uri("api/fleet/apply", UriKind.Relative), new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task FleetView_GatewayWithoutFleet_SaysTheFleetIsOff()
    {
        await _page.GotoAsync(Url("/ui/#/fleet"));
        await Assertions.Expect(_page.Locator("#fleet-off")).ToContainTextAsync("The fleet is off on this gateway");
        await Assertions.Expect(_page.Locator("#fleet-table")).ToBeHiddenAsync();
        await Assertions.Expect(_page.Locator("#status")).ToHaveTextAsync(string.Empty);
    }

    [Fact]
    public async Task Ui_RedirectsAndServesItsFilesWithTypes()
    {
        using var http = new HttpClient();
        var index = await http.GetAsync(Url("/ui"));
        Assert.Equal("/ui/", index.RequestMessage!.RequestUri!.AbsolutePath);
        Assert.Equal("text/html", index.Content.Headers.ContentType!.MediaType);
        var js = await http.GetAsync(Url("/ui/app.js"));
        Assert.Equal("text/javascript", js.Content.Headers.ContentType!.MediaType);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync(Url("/ui/nope.js"))).StatusCode);
    }

    /// <summary>Runs <c>dotnet flotel.dll ARGS</c> to its exit (60 s at most) with <paramref name="adminToken"/> in FLOTEL_ADMIN_TOKEN.</summary>
    private static async Task<(int Code, string Output, string Error)> FlotelAsync(string adminToken, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(GatewayProcess.FlotelDll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["FLOTEL_ADMIN_TOKEN"] = adminToken;
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>A line in Flotta's layout as the agent sends it: device as hostname, workload as TAG.</summary>
    private static string Line(int n, int severity, string message)
    {
        // RFC 3164's day is space-padded ("Dec  7"); the hour keeps its zero ("02:05:09").
        var now = DateTime.UtcNow;
        var time = string.Create(CultureInfo.InvariantCulture, $"{now:MMM} {now.Day,2} {now:HH:mm:ss}");
        return $"<{8 + severity}>{time} {Device} random-workload[{n}]: {message}";
    }

    private async Task SendSyslogAsync(params string[] lines)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", _gateway.SyslogPort);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n"));
        await stream.FlushAsync();
    }

    private async Task WaitForCountAsync(long expected)
    {
        var reached = await Eventually.PollAsync(
            async () => await GatewayTestKit.CountAsync(_gateway.Http, "_all", "{\"query\":{\"match_all\":{}}}") >= expected, TimeSpan.FromSeconds(30));
        Assert.True(reached, $"the store did not reach {expected} events");
    }

    private static TimeSeries Series(string name, string device, (long T, double V)[] samples) =>
        new(LabelSet.Of("__name__", name, "edgedeviceid", device, "metric-source", "system"), samples.Select(s => new Sample(s.T, s.V)).ToArray());

    private async Task RemoteWriteAsync(params TimeSeries[] series)
    {
        using var request = GatewayTestKit.RemoteWrite(RemoteWriteCodec.Encode(new WriteRequest(series)));
        using var response = await _gateway.Http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"remote write answered {(int)response.StatusCode}");
        // Samples become queryable once the store output appended them: poll the label API.
        series[0].Labels.TryGetValue("edgedeviceid", out var device);
        var ok = await Eventually.PollAsync(async () =>
        {
            var result = await GatewayTestKit.InstantQueryAsync(_gateway.Http, $"count({{edgedeviceid=\"{device}\"}})");
            return result is { Count: > 0 };
        }, TimeSpan.FromSeconds(30));
        Assert.True(ok, "the samples did not become queryable");
    }
}
