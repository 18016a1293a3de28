using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Flotel.IntegrationTests.Gateway;
using Xunit.Abstractions;

namespace Flotel.IntegrationTests.Fleet;

/// <summary>
/// The fleet simulator (bench/fleet/run.sh) at CI size against a real <c>flotel gateway</c> process: every device
/// connects, every line and acknowledged sample is found in the stores at the end, nothing fails. Speed is measured
/// in docs/benchmarks.md, not asserted here.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class FleetSimulatorTests(ITestOutputHelper output)
{
    [Fact]
    public async Task FleetSimulator_500DevicesFor30Seconds_NothingLostNoErrors()
    {
        var data = PeerProcess.CreateTempDirectory("fleet-sim");
        try
        {
            using var gateway = await GatewayProcess.StartAsync(data);
            var (code, stdout, _) = await RunSimulatorAsync(
                "--devices", "500", "--seconds", "30", "--interval", "10", "--series", "20",
                "--gateway", "http://" + gateway.HttpEndPoint, "--syslog", gateway.SyslogEndPoint.ToString(),
                "--gateway-pid", gateway.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            AssertNothingLost(code, stdout, devices: 500, gateway.Stderr);
        }
        finally
        {
            GatewayTestKit.DeleteDirectory(data);
        }
    }

    [Fact]
    public async Task FleetSimulator_TlsWithItsOwnGateway_NothingLostNoErrors()
    {
        // Without --gateway the simulator starts flotel gateway itself (with a self-signed certificate for TLS) and
        // stops it by PID: the path operators use to size a gateway.
        var (code, stdout, _) = await RunSimulatorAsync(
            "--devices", "50", "--seconds", "10", "--interval", "5", "--series", "10", "--tls", "--flotel", GatewayProcess.FlotelDll);
        AssertNothingLost(code, stdout, devices: 50, gatewayLog: string.Empty);
    }

    [Fact]
    public async Task FleetSimulator_EnrolledDevicesWithTls_EveryDeviceEnrolledLongPollingAndBoundNothingLost()
    {
        // Every device enrols with its own token through the agent's code, long-polls its bundle and sends its syslog
        // (TLS) and remote write (fleet listener) with its device certificate: the gateway binds every line and sample.
        var (code, stdout, _) = await RunSimulatorAsync(
            "--devices", "50", "--seconds", "20", "--warmup", "5", "--interval", "5", "--series", "10", "--enrol", "--tls",
            "--flotel", GatewayProcess.FlotelDll);
        AssertNothingLost(code, stdout, devices: 50, gatewayLog: string.Empty);
        AssertEnrolled(stdout, devices: 50);
        var lines = Numbers(Line(stdout, "| syslog lines sent / stored / lost"));
        var samples = Numbers(Line(stdout, "| samples sent (2xx) / stored / lost"));
        Assert.Equal([lines[0], samples[0]], Numbers(Line(stdout, "| lines / samples bound to a device certificate")));

        // The warm-up's probes ran and were found, and are not among the percentiles' probes.
        var probes = Numbers(Line(stdout, "| probes not found within 60 s / found in the warm-up (not counted)"));
        Assert.Equal(0, probes[0]);
        Assert.True(probes[1] > 0, stdout);
    }

    [Fact]
    public async Task FleetSimulator_EnrolledDevicesOverMaxHeldPolls_PollAtTheIntervalAndNothingLost()
    {
        // 10 held polls for 50 devices: 40 are told to poll every fleet.pollIntervalSeconds and reconnect for each call,
        // their remote writes included (docs/fleet.md §5); every device still applies and nothing is lost. 40 s of sending
        // cover every deferred device's second poll (Retry-After 27–33 s, plus the agent's up to 10 %).
        var (code, stdout, _) = await RunSimulatorAsync(
            "--devices", "50", "--seconds", "40", "--warmup", "5", "--interval", "5", "--series", "10", "--enrol", "--max-held-polls", "10",
            "--flotel", GatewayProcess.FlotelDll);
        AssertNothingLost(code, stdout, devices: 50, gatewayLog: string.Empty);
        Assert.Equal([50, 50], Numbers(Line(stdout, "| devices applied (gateway's view)")));
        Assert.Equal([10], Numbers(Line(stdout, "| long-polls open (gateway, end of sending)")));
        Assert.Equal([0, 0], Numbers(Line(stdout, "| enrolment failures / agent warnings and errors")));
        var deferred = Line(stdout, "| long-polls deferred by fleet.maxHeldPolls").Split('|', StringSplitOptions.RemoveEmptyEntries)[1].Split('/')[0];
        Assert.True(long.Parse(deferred.Trim(), System.Globalization.CultureInfo.InvariantCulture) > 0, stdout);
    }

    [Fact]
    public async Task FleetSimulator_ControlPlaneOnly_EveryDeviceEnrolledLongPollingAndNoData()
    {
        var (code, stdout, _) = await RunSimulatorAsync(
            "--devices", "50", "--seconds", "10", "--control-plane-only", "--flotel", GatewayProcess.FlotelDll);
        Assert.True(code == 0, $"simulator exit code {code}\n{stdout}");
        AssertEnrolled(stdout, devices: 50);
        Assert.Equal([0, 0, 0], Numbers(Line(stdout, "| syslog lines sent / stored / lost")));
        Assert.Equal([0, 0, 0], Numbers(Line(stdout, "| samples sent (2xx) / stored / lost")));
        Assert.Contains("| gateway CPU / RSS growth per 1,000 devices | ", stdout, StringComparison.Ordinal);
        Assert.StartsWith("fleet: 50 devices, 50 enrolled, 50 long-polls, ", stdout.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task FleetSimulator_MoreDevicesThanItsOwnOpenFileLimit_RefusedBeforeStartingAGateway()
    {
        var limit = OpenFileLimit("self");
        var (code, stdout, stderr) = await RunSimulatorAsync(
            "--devices", (limit + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), "--seconds", "10", "--control-plane-only",
            "--flotel", GatewayProcess.FlotelDll);

        Assert.True(code == 2, $"simulator exit code {code}\n{stdout}\n{stderr}");
        Assert.Contains("open files in the simulator", stderr, StringComparison.Ordinal);
        Assert.Contains("RLIMIT_NOFILE", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("starting flotel gateway", stderr, StringComparison.Ordinal);
        var most = LargestThatFits(stderr);
        Assert.InRange(most, 1, limit - 256);
    }

    [Fact]
    public async Task FleetSimulator_MoreDevicesThanTheGatewaysOpenFileLimit_RefusedNamingTheGatewayAndWhatFits()
    {
        var data = PeerProcess.CreateTempDirectory("fleet-sim-nofile");
        try
        {
            using var gateway = await GatewayProcess.StartAsync(data);
            var pid = gateway.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
            // The gateway's soft limit lowered to 1,000 (its hard limit kept): 1,000 devices, one syslog socket each, cannot fit.
            using (var prlimit = Process.Start(new ProcessStartInfo("prlimit", ["--pid", pid, "--nofile=1000:"]) { UseShellExecute = false })!)
            {
                await prlimit.WaitForExitAsync();
                Assert.Equal(0, prlimit.ExitCode);
            }

            Assert.Equal(1000, OpenFileLimit(pid));
            var (code, stdout, stderr) = await RunSimulatorAsync(
                "--devices", "1000", "--seconds", "10", "--gateway", "http://" + gateway.HttpEndPoint,
                "--syslog", gateway.SyslogEndPoint.ToString(), "--gateway-pid", pid);

            Assert.True(code == 2, $"simulator exit code {code}\n{stdout}\n{stderr}");
            Assert.Contains($"open files in the gateway (PID {pid})", stderr, StringComparison.Ordinal);
            Assert.Contains("over its limit of 1,000", stderr, StringComparison.Ordinal);
            var open = Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
            Assert.InRange(LargestThatFits(stderr), 1, 1000 - 256 - open + 20); // the gateway's open files moved a little meanwhile
            Assert.Equal(string.Empty, stdout); // nothing was sent, no table
        }
        finally
        {
            GatewayTestKit.DeleteDirectory(data);
        }
    }

    private static long OpenFileLimit(string pid)
    {
        var line = File.ReadLines($"/proc/{pid}/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        return long.Parse(soft, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static long LargestThatFits(string stderr)
    {
        var match = Regex.Match(stderr, @"the largest run that fits is --devices (\d+)");
        Assert.True(match.Success, stderr);
        return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Every device enrolled, the gateway reports each as applied, and each holds a long poll at the end (the runs are
    /// shorter than the 60 s poll, so no poll is between two requests when counted).
    /// </summary>
    private static void AssertEnrolled(string stdout, int devices)
    {
        Assert.Equal([devices, devices], Numbers(Line(stdout, "| devices enrolled / asked")));
        Assert.Equal([devices, devices], Numbers(Line(stdout, "| devices applied (gateway's view)")));
        Assert.Equal([devices], Numbers(Line(stdout, "| long-polls open (gateway, end of sending)")));
        Assert.Equal([0, 0], Numbers(Line(stdout, "| enrolment failures / agent warnings and errors")));
    }

    private void AssertNothingLost(int code, string stdout, int devices, string gatewayLog)
    {
        Assert.True(code == 0, $"simulator exit code {code}\n{stdout}\n{gatewayLog}");
        Assert.Matches(new Regex($@"^\| devices connected / asked \| {devices} / {devices} "), Line(stdout, "| devices connected"));
        var lines = Numbers(Line(stdout, "| syslog lines sent / stored / lost"));
        var samples = Numbers(Line(stdout, "| samples sent (2xx) / stored / lost"));
        Assert.True(lines[0] > 0 && samples[0] > 0, stdout);
        Assert.Equal([lines[0], lines[0], 0], lines);
        Assert.Equal([samples[0], samples[0], 0], samples);
        Assert.Equal([0, 0], Numbers(Line(stdout, "| connect failures / write failures")));
        Assert.StartsWith($"fleet: {devices} devices, ", stdout.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
    }

    private static string Line(string stdout, string prefix) =>
        stdout.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) ?? throw new Xunit.Sdk.XunitException($"no line '{prefix}' in:\n{stdout}");

    private static long[] Numbers(string row) =>
        [.. row.Split('|', StringSplitOptions.RemoveEmptyEntries)[1].Split('/').Select(n => long.Parse(n.Trim(), System.Globalization.CultureInfo.InvariantCulture))];

    private async Task<(int Code, string Stdout, string Stderr)> RunSimulatorAsync(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "fleetsim", "flotel-fleetsim.dll");
        Assert.True(File.Exists(dll), "flotel-fleetsim.dll is not in fleetsim/ next to the test assembly: " + dll);
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = new StringBuilder();
        var stderr = process.StandardError.ReadToEndAsync();
        var reading = process.StandardOutput.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true); // only the simulator this test started, and its gateway
            throw;
        }

        stdout.Append(await reading);
        var errors = await stderr;
        output.WriteLine(stdout.ToString());
        output.WriteLine(errors);
        return (process.ExitCode, stdout.ToString(), errors);
    }
}
