using Flotel.Model.Manifests;

namespace Flotel.Model.Tests.Manifests;

/// <summary>Flotta's defaults (docs/reference/flotta-device-worker.md §2, §4.4–4.6) as the plan types start out.</summary>
public sealed class PlanDefaultsTests
{
    [Fact]
    public void MetricsReceiverPlan_New_FlottaOperatorDefaultsAndOff()
    {
        var receiver = new MetricsReceiverPlan();

        Assert.Equal((30000, 10), (receiver.RequestNumSamples, receiver.TimeoutSeconds));
        Assert.False(receiver.IsEnabled);
    }

    [Fact]
    public void SystemMetricsPlan_New_Every60sWithDefaultList()
    {
        var system = new SystemMetricsPlan();

        Assert.Equal(60, system.IntervalSeconds);
        Assert.Equal(12, system.AllowList.Count);
        Assert.False(system.Disabled);
    }

    [Fact]
    public void RetentionPlan_New_SevenDaysNoSizeLimit()
    {
        var retention = new RetentionPlan();

        Assert.Equal(7 * 24, retention.MaxHours);
        Assert.Equal(0, retention.MaxMiB);
    }

    [Fact]
    public void LogTargetPlan_BufferSizeBytes_IsKiBTimes1024()
    {
        var target = new LogTargetPlan
        {
            Name = "t", BufferSizeKiB = 10, Address = "h:1", Host = "h", Port = 1,
            Protocol = SyslogProtocol.Tcp, Format = SyslogFormat.Flotta, ConfigMapName = "cm",
        };

        Assert.Equal(10240, target.BufferSizeBytes);
    }

    [Fact]
    public void SystemAllowList_ExactlyTheDeviceWorkerNames()
    {
        Assert.Equal(
            [
                "node_cpu_frequency_hertz", "node_cpu_scaling_frequency_min_hertz", "node_cpu_scaling_frequency_hertz",
                "node_cpu_scaling_frequency_max_hertz", "node_disk_read_bytes_total", "node_disk_written_bytes_total",
                "node_memory_MemAvailable_bytes", "node_memory_MemFree_bytes", "node_memory_MemTotal_bytes",
                "node_network_info", "node_network_receive_bytes_total", "node_network_transmit_bytes_total",
            ],
            FlottaDefaults.SystemAllowList);
    }

    [Fact]
    public void Secret_ToString_DoesNotPrintValues()
    {
        var secret = new Secret
        {
            Metadata = new ObjectMeta { Name = "s" },
            Data = new Dictionary<string, byte[]> { ["password"] = "hunter2"u8.ToArray() },
            Source = new ManifestSource("s.yaml", 1),
        };

        Assert.DoesNotContain("hunter2", secret.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("104", secret.ToString(), StringComparison.Ordinal);
    }
}
