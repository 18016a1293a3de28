using Flotel.Model.Manifests;
using Flotel.Wire.Manifests;

namespace Flotel.Wire.Tests.Manifests;

/// <summary>
/// examples/blog (the blog's snippets, completed) must load unchanged. The files are read in place from the
/// repository (found by walking up to Flotel.sln), not copied, so the test sees exactly what users run.
/// </summary>
public sealed class BlogExampleTests
{
    private static DevicePlanResult Resolve() =>
        DevicePlanResolver.Resolve(ManifestLoader.LoadDirectory(ManifestTestKit.BlogDirectory()), deviceName: null);

    [Fact]
    public void BlogExample_Loaded_HasNoDiagnostics()
    {
        var result = Resolve();

        Assert.Empty(result.Diagnostics);
        Assert.False(result.HasErrors);
    }

    [Fact]
    public void BlogExample_Loaded_DeviceAndLogTargetAsInTheBlog()
    {
        var plan = Resolve().Plan!;

        Assert.Equal("edge-device-1", plan.DeviceName);
        Assert.Equal("default", plan.Namespace);
        Assert.Equal("foo", plan.Labels["app"]);
        var target = Assert.Single(plan.LogTargets);
        Assert.Equal("logstash-syslog", target.Name);
        Assert.Equal(10, target.BufferSizeKiB);
        Assert.Equal(10 * 1024, target.BufferSizeBytes);
        Assert.Equal("127.0.0.1:5140", target.Address);
        Assert.Equal("127.0.0.1", target.Host);
        Assert.Equal(5140, target.Port);
        Assert.Equal(SyslogProtocol.Tcp, target.Protocol);
        Assert.Equal(SyslogFormat.Flotta, target.Format);
        Assert.Null(target.CaCertificatePem);
    }

    [Fact]
    public void BlogExample_Loaded_WorkloadRunsLocalBusyboxAndShipsToLogstashSyslog()
    {
        var plan = Resolve().Plan!;

        var workload = Assert.Single(plan.Workloads);
        Assert.Equal("random-workload", workload.Name);
        Assert.Same(plan.LogTargets[0], workload.LogTarget);
        Assert.True(workload.Pod.HostNetwork);
        var container = Assert.Single(workload.Pod.Containers);
        Assert.Equal("random-server", container.Name);
        Assert.Equal("localhost/busybox:local", container.Image);
        Assert.Equal(["/bin/sh", "-c"], container.Command.Take(2));
        Assert.Contains("New message at: ", container.Command[2], StringComparison.Ordinal);
        Assert.Null(workload.Metrics);
        Assert.Contains("kind: Pod", workload.PodManifestYaml, StringComparison.Ordinal);
        Assert.Contains("name: random-workload", workload.PodManifestYaml, StringComparison.Ordinal);
    }

    [Fact]
    public void BlogExample_Loaded_MetricsAsInTheBlogWithFlottaDefaults()
    {
        var plan = Resolve().Plan!;

        Assert.True(plan.MetricsReceiver.IsEnabled);
        Assert.Equal("http://127.0.0.1:9201/api/v1/write", plan.MetricsReceiver.Url);
        Assert.Equal(30000, plan.MetricsReceiver.RequestNumSamples);
        Assert.Equal(10, plan.MetricsReceiver.TimeoutSeconds);
        Assert.False(plan.SystemMetrics.Disabled);
        Assert.Equal(5, plan.SystemMetrics.IntervalSeconds);
        Assert.Equal("system-allow-list", plan.SystemMetrics.AllowListName);
        Assert.Equal(["node_disk_io_now", "node_memory_Mapped_bytes", "node_network_speed_bytes"], plan.SystemMetrics.AllowList);
        Assert.Equal(168, plan.Retention.MaxHours);
        Assert.Equal(0, plan.Retention.MaxMiB);
    }

    [Fact]
    public void BlogExample_PodManifest_IsAKubePodThatParsesBack()
    {
        var yaml = Resolve().Plan!.Workloads[0].PodManifestYaml;

        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader(yaml));
        var root = Assert.IsType<YamlDotNet.RepresentationModel.YamlMappingNode>(stream.Documents[0].RootNode);
        Assert.Equal("v1", root["apiVersion"].ToString());
        Assert.Equal("Pod", root["kind"].ToString());
        var spec = Assert.IsType<YamlDotNet.RepresentationModel.YamlMappingNode>(root["spec"]);
        Assert.Equal("true", spec["hostNetwork"].ToString());
    }
}
