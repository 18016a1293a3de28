using Flotel.Cli.Up;
using Flotel.Wire.Exposition;

namespace Flotel.Cli.Tests.Up;

public sealed class BuiltInHostMetricsTests : IDisposable
{
    private readonly TempDirectory _root = new("flotel-hostmetrics-");

    [Fact]
    public void Render_FromProcAndSys_GivesTheBlogsThreeMetricsLikeNodeExporter()
    {
        var proc = Directory.CreateDirectory(Path.Combine(_root.Path, "proc")).FullName;
        File.WriteAllText(Path.Combine(proc, "meminfo"), "MemTotal:       24000000 kB\nMapped:           123456 kB\nShmem: 1 kB\n");
        File.WriteAllText(Path.Combine(proc, "diskstats"),
            "   8       0 sda 100 0 800 10 50 0 400 5 3 20 30 0 0 0 0 0 0\n" +
            "   8       1 sda1 90 0 700 9 40 0 300 4 1 10 20 0 0 0 0 0 0\n" +
            "   7       0 loop0 1 0 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
        var net = Path.Combine(_root.Path, "sys", "class", "net");
        Directory.CreateDirectory(Path.Combine(net, "eth0"));
        File.WriteAllText(Path.Combine(net, "eth0", "speed"), "1000\n");
        Directory.CreateDirectory(Path.Combine(net, "lo")); // no speed file: skipped

        var text = BuiltInHostMetrics.Render(proc, Path.Combine(_root.Path, "sys"));
        var parsed = ExpositionParser.ParseAll(System.Text.Encoding.UTF8.GetBytes(text));

        Assert.Empty(parsed.Errors);
        Assert.Contains("node_memory_Mapped_bytes 126418944\n", text, StringComparison.Ordinal);
        Assert.Contains("node_disk_io_now{device=\"sda\"} 3\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("sda1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("loop0", text, StringComparison.Ordinal);
        Assert.Contains("node_network_speed_bytes{device=\"eth0\"} 125000000\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"lo\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_OnThisMachine_ParsesWithoutErrors()
    {
        var parsed = ExpositionParser.ParseAll(System.Text.Encoding.UTF8.GetBytes(BuiltInHostMetrics.Render()));
        Assert.Empty(parsed.Errors);
        Assert.Contains(parsed.Samples, s => s.MetricName == "node_memory_Mapped_bytes");
    }

    public void Dispose() => _root.Dispose();
}

public sealed class ElfBinaryTests
{
    [Fact]
    public void IsDynamicallyLinked_TellsTheDotnetHostFromStaticBusybox()
    {
        Assert.True(ElfBinary.IsDynamicallyLinked("/bin/sh"));
        Assert.True(File.Exists("/bin/busybox"), "busybox-static is installed by test.sh");
        Assert.False(ElfBinary.IsDynamicallyLinked("/bin/busybox"));
        Assert.Throws<InvalidDataException>(() => ElfBinary.IsDynamicallyLinked("/etc/hostname"));
    }
}
