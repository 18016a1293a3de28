using System.Net;
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
}
