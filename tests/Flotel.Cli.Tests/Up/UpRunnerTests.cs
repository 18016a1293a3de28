using System.Net;
using System.Net.Sockets;
using Flotel.Cli.Up;
using Flotel.Model.Manifests;
using Flotel.Wire.Manifests;

namespace Flotel.Cli.Tests.Up;

public sealed class UpRunnerTests
{
    [Fact]
    public void PointAtGateway_RewritesEveryLogTargetAndTheReceiver_ToTheLocalGateway()
    {
        var result = DevicePlanResolver.Resolve(ManifestLoader.LoadDirectory(CheckCommandTests.RepoPath("examples", "blog")), null);
        var plan = UpRunner.PointAtGateway(result.Plan!, new IPEndPoint(IPAddress.Loopback, 19201), new IPEndPoint(IPAddress.Loopback, 15140));

        Assert.Equal("http://127.0.0.1:19201/api/v1/write", plan.MetricsReceiver.Url);
        Assert.All(plan.LogTargets, t => Assert.Equal(("127.0.0.1", 15140, SyslogProtocol.Tcp), (t.Host, t.Port, t.Protocol)));
        var workload = Assert.Single(plan.Workloads);
        Assert.Equal(15140, workload.LogTarget!.Port);
        Assert.Equal(result.Plan!.LogTargets[0].BufferSizeKiB, plan.LogTargets[0].BufferSizeKiB);
    }

    [Fact]
    public async Task Run_HttpPortHeldByAnotherListener_SaysAddressInUseWithTheHint()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var (code, error) = await RunUpAsync($"127.0.0.1:{port}", "127.0.0.1:0");

        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("cannot start the gateway", error, StringComparison.Ordinal);
        Assert.Contains("address already in use", error, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("another flotel up running?", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_SyslogPortHeldByAnotherListener_SaysAddressInUseWithTheHint()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var (code, error) = await RunUpAsync("127.0.0.1:0", $"127.0.0.1:{port}");

        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains($"cannot bind the syslog TCP listener to 127.0.0.1:{port}", error, StringComparison.Ordinal);
        Assert.Contains("address already in use", error, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("another flotel up running?", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_HttpAddressNotOfThisMachine_SaysCannotAssignWithoutTheInUseHint()
    {
        // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a local address, so the bind fails before anything is sent.
        var (code, error) = await RunUpAsync("192.0.2.1:0", "127.0.0.1:0");

        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("cannot assign requested address", error, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("must name an address of this machine", error, StringComparison.Ordinal);
        Assert.DoesNotContain("another flotel up", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_GatewayDataDirectoryIsAFile_SaysSoWithoutTheInUseHint()
    {
        using var temp = new TempDirectory("flotel-up-test-");
        await File.WriteAllTextAsync(temp.Combine("gateway"), "not a directory");

        var (code, error) = await RunUpAsync("127.0.0.1:0", "127.0.0.1:0", temp.Path);

        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("cannot start the gateway", error, StringComparison.Ordinal);
        Assert.DoesNotContain("another flotel up", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_PortInUseAsKestrelWrapsIt_FindsTheSocketErrorInside()
    {
        var socket = new SocketException((int)SocketError.AddressAlreadyInUse);
        var kestrel = new IOException(
            "Failed to bind to address http://127.0.0.1:5000: address already in use.", new InvalidOperationException(socket.Message, socket));

        var message = GatewayStartFailure.Describe(kestrel);

        Assert.StartsWith("Failed to bind to address http://127.0.0.1:5000", message, StringComparison.Ordinal);
        Assert.Contains("another flotel up running?", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_PermissionDenied_NamesThePrivilegedPortsInsteadOfTheInUseHint()
    {
        var message = GatewayStartFailure.Describe(new SocketException((int)SocketError.AccessDenied));

        Assert.Contains("CAP_NET_BIND_SERVICE", message, StringComparison.Ordinal);
        Assert.DoesNotContain("another flotel up", message, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Error)> RunUpAsync(string http, string syslog, string? data = null)
    {
        using var temp = new TempDirectory("flotel-up-test-");
        using var output = new StringWriter();
        using var error = new StringWriter();
        var options = new UpOptions(data ?? temp.Path, CheckCommandTests.RepoPath("examples", "blog"), http, syslog, NoInstall: true);

        var code = await UpRunner.RunAsync(options, output, error, interactive: false, CancellationToken.None);

        return (code, error.ToString());
    }
}
