using Flotel.Store.Metrics;

namespace Flotel.Store.Tests.Metrics;

/// <summary>A temporary data directory for one test, deleted on Dispose.</summary>
internal sealed class StoreFixture : IDisposable
{
    public StoreFixture() => Directory.CreateDirectory(DataDirectory);

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "flotel-metricstore-" + Guid.NewGuid().ToString("N"));

    public MetricStore Open(TimeProvider? time = null, Action<MetricStoreOptions>? configure = null)
    {
        var options = new MetricStoreOptions { DataDirectory = DataDirectory };
        configure?.Invoke(options);
        return MetricStore.Open(options, time);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
