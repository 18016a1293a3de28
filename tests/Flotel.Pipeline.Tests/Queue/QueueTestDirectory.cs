using System.Text;
using Flotel.Pipeline.Queue;

namespace Flotel.Pipeline.Tests.Queue;

/// <summary>A fresh directory per test under the temp folder, deleted afterwards, plus small helpers.</summary>
internal sealed class QueueTestDirectory : IDisposable
{
    public QueueTestDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "flotel-queue-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Options for tests: no group-commit window (tests would only wait longer), fsync on.</summary>
    public DurableQueueOptions Options(long maxSegmentBytes = 64L << 20, long maxTotalBytes = 1L << 30, QueueFullPolicy policy = QueueFullPolicy.Reject) => new()
    {
        Directory = Path,
        MaxSegmentBytes = maxSegmentBytes,
        MaxTotalBytes = maxTotalBytes,
        FullPolicy = policy,
        GroupCommitWindow = TimeSpan.Zero,
    };

    public string[] SegmentFiles() => Directory.GetFiles(Path, "*.seg").Order(StringComparer.Ordinal).ToArray();

    public static ReadOnlyMemory<byte> Payload(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(QueueRecord record) => Encoding.UTF8.GetString(record.Payload.Span);

    /// <summary>Reads everything durable now (in batches of 7 to cross batch boundaries) without committing.</summary>
    public static List<QueueRecord> ReadAll(QueueReader reader)
    {
        var all = new List<QueueRecord>();
        var batch = new List<QueueRecord>();
        while (reader.TryReadBatch(7, 1 << 20, batch))
        {
            all.AddRange(batch);
            batch.Clear();
        }

        return all;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A queue abandoned on purpose (crash test) may still hold a file open.
        }
    }
}
