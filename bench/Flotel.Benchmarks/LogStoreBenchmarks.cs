using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Flotel.Model.Logs;
using Flotel.Store.Logs;
using Flotel.Wire.Syslog;

namespace Flotel.Benchmarks;

/// <summary>
/// The embedded store output's log path per event: parse a loggen-shaped 256-byte RFC 3164 line into a
/// <see cref="LogEvent"/> and write a batch of them with <see cref="LogStore.WriteAsync"/> (one transaction, as the
/// store output does with one 4 MiB queue batch), into a store that grows across iterations. Budget (architecture §8):
/// syslog → searchable at ≥ 100k msg/s on 2 cores, so ≤ ~10 µs of wall time per event on the writer's path.
/// </summary>
[MemoryDiagnoser]
public class LogStoreBenchmarks
{
    // About one 4 MiB queue batch of 256-byte lines (EmbeddedStoreOutput.BatchBytes).
    private const int BatchLines = 16_384;

    private readonly SyslogParser _parser = new(new SyslogParserOptions { Timezone = "UTC" });
    private readonly List<LogEvent> _events = new(BatchLines);
    private byte[][] _lines = [];
    private string _directory = "";
    private LogStore _store = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "flotel-logstore-bench", Guid.NewGuid().ToString("N"));
        _store = LogStore.Open(new LogStoreOptions { DataDirectory = _directory });
        var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
        var padding = new string('P', 120);

        // The shape of syslog-ng's loggen lines (bench/peers/syslog-ingest.sh): unique sequence numbers, so every
        // line adds new full-text terms.
        _lines = new byte[BatchLines][];
        for (var i = 0; i < BatchLines; i++)
        {
            _lines[i] = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"<38>{now} localhost prg{i % 7:00000}[1234]: seq: {i:0000000000}, thread: {i % 2:0000}, runid: 1764260521, stamp: {now} {padding}"));
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Parse + store one batch, per event.</summary>
    [Benchmark(OperationsPerInvoke = BatchLines)]
    public async Task<int> ParseAndWriteBatch()
    {
        _events.Clear();
        var pool = new SyslogStringPool();
        var receivedAt = DateTime.UtcNow;
        foreach (var line in _lines)
        {
            _events.Add(_parser.ParseEvent(line, receivedAt, "127.0.0.1", pool));
        }

        await _store.WriteAsync(_events);
        return _events.Count;
    }
}
