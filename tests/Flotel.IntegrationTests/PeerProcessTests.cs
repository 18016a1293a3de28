using System.Diagnostics;
using System.Globalization;

namespace Flotel.IntegrationTests;

[Collection(PeerCollection.Name)]
public sealed class PeerProcessTests
{
    [Fact]
    public async Task StartAsync_MissingBinary_FailsNamingThePackageToInstall()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            PeerProcess.StartAsync("/usr/bin/flotel-no-such-peer", "flotel-no-such-package", (_, _) => [], "/"));
        Assert.Contains("apt-get install -y flotel-no-such-package", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dispose_RunningNodeExporter_StopsItByPidAndDeletesItsDirectory()
    {
        var peer = await PeerProcess.StartAsync(
            "/usr/bin/prometheus-node-exporter", "prometheus-node-exporter",
            (port, _) => ["--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture)],
            "/metrics");
        var pid = peer.Pid;
        var dir = peer.TempDirectory;
        peer.Dispose();
        Assert.False(Directory.Exists(dir));
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(pid));
    }

    [Fact]
    public async Task StartAsync_PeerExitingEarly_FailsWithItsOutput()
    {
        // prometheus refuses an unreadable config file and exits: the failure must carry its stderr.
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => PeerProcess.StartAsync(
            "/usr/bin/prometheus", "prometheus",
            (port, dir) => ["--config.file=" + Path.Combine(dir, "missing.yml"), "--storage.tsdb.path=" + dir, "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture)],
            "/-/ready"));
        Assert.Contains("missing.yml", ex.Message, StringComparison.Ordinal);
    }
}
