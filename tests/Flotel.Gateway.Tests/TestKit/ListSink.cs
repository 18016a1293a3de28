using Flotel.Gateway.Queueing;
using Flotel.Pipeline.Queue;
using Flotel.Wire.Queueing;

namespace Flotel.Gateway.Tests.TestKit;

/// <summary>
/// An in-memory <see cref="IRecordSink"/> that can refuse the first appends as a full queue would, or as a queue on a
/// full disk would (<c>writeFails</c>: <see cref="QueueWriteException"/>).
/// </summary>
internal sealed class ListSink : IRecordSink
{
    private readonly Lock _lock = new();
    private readonly bool _writeFails;
    private int _refuse;

    public ListSink(int refuseFirst = 0, bool writeFails = false)
    {
        _refuse = refuseFirst;
        _writeFails = writeFails;
    }

    public List<byte[]> Records { get; } = [];

    public int Refused { get; private set; }

    public ValueTask AppendAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_refuse > 0)
            {
                _refuse--;
                Refused++;
                throw Refusal();
            }

            Records.Add(record.ToArray());
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask AppendBatchAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_refuse > 0)
            {
                _refuse--;
                Refused++;
                throw Refusal();
            }

            foreach (var record in records)
            {
                Records.Add(record.ToArray());
            }
        }

        return ValueTask.CompletedTask;
    }

    private Exception Refusal() => _writeFails
        ? new QueueWriteException("could not store a group commit (test)", new IOException("No space left on device"))
        : new QueueFullException("full (test)");

    /// <summary>Every syslog frame in every record, in order, as text.</summary>
    public List<(string Peer, string Frame)> Frames()
    {
        var frames = new List<(string, string)>();
        lock (_lock)
        {
            foreach (var record in Records)
            {
                Assert.True(GatewayRecord.TryReadHeader(record, out var kind, out _, out var peer, out var offset));
                Assert.Equal(GatewayRecordKind.SyslogFrames, kind);
                ReadOnlySpan<byte> body = record.AsSpan(offset + 1);
                while (GatewayRecord.TryReadFrame(ref body, out var frame))
                {
                    frames.Add((peer, System.Text.Encoding.UTF8.GetString(frame)));
                }

                Assert.True(body.IsEmpty);
            }
        }

        return frames;
    }
}
