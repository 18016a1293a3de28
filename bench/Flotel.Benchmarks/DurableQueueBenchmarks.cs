using BenchmarkDotNet.Attributes;
using Flotel.Pipeline.Queue;

namespace Flotel.Benchmarks;

/// <summary>
/// Durable queue cost per record: appends of 200-byte records (a syslog line) in batches of 1 / 64 / 1024 with fsync
/// (the gateway appends one batch per TCP read), and read + commit. Budget (architecture §8): ≥ 650k syslog msg/s into
/// the queue on 2 cores, parse included.
/// </summary>
[MemoryDiagnoser]
public class DurableQueueBenchmarks
{
    private const int RecordBytes = 200;
    private const int ReadRecords = 100_000;

    private readonly List<QueueRecord> _batch = new(1024);
    private string _directory = "";
    private DurableQueue _queue = null!;
    private ReadOnlyMemory<byte>[] _payloads = [];
    private QueueReader? _reader;

    /// <summary>Records per append call.</summary>
    [Params(1, 64, 1024)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "flotel-queue-bench", Guid.NewGuid().ToString("N"));
        var line = new byte[RecordBytes];
        Array.Fill(line, (byte)'x');
        _payloads = Enumerable.Range(0, BatchSize).Select(_ => (ReadOnlyMemory<byte>)line).ToArray();

        // Drop-oldest keeps the directory bounded however long the append benchmark runs.
        _queue = DurableQueue.Open(new DurableQueueOptions
        {
            Directory = _directory,
            MaxTotalBytes = 256L << 20,
            FullPolicy = QueueFullPolicy.DropOldest,
            GroupCommitWindow = TimeSpan.Zero,
        });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _reader?.Dispose();
        _queue.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>One append call of <see cref="BatchSize"/> records, awaited until durable (one fsync).</summary>
    [Benchmark]
    public async Task<long> AppendBatchFsync()
    {
        var result = BatchSize == 1
            ? await _queue.AppendAsync(_payloads[0])
            : await _queue.AppendBatchAsync(_payloads);
        return result.LastSequence;
    }

    [IterationSetup(Target = nameof(ReadAndCommit))]
    public void FillForRead()
    {
        _reader ??= _queue.OpenReader("bench");
        var tasks = new List<Task>();
        for (var i = 0; i < ReadRecords; i += BatchSize)
        {
            tasks.Add(_queue.AppendBatchAsync(_payloads).AsTask());
        }

        Task.WaitAll(tasks);
    }

    /// <summary>Reads everything appended by the iteration setup in batches of up to 1024 and commits each batch.</summary>
    [Benchmark(OperationsPerInvoke = ReadRecords)]
    public long ReadAndCommit()
    {
        var reader = _reader!;
        long last = 0;
        while (reader.TryReadBatch(1024, 1 << 20, _batch))
        {
            last = _batch[^1].Sequence;
            reader.Commit(last);
            _batch.Clear();
        }

        return last;
    }
}
