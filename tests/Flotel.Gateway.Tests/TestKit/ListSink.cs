using Flotel.Pipeline.Queue;
using Flotel.Gateway.Queueing;

namespace Flotel.Gateway.Tests.TestKit;

/// <summary>An in-memory <see cref="IRecordSink"/> that can refuse the first appends as a full queue would.</summary>
internal sealed class ListSink : IRecordSink
{
    private readonly Lock _lock = new();
    private int _refuse;

    public ListSink(int refuseFirst = 0) => _refuse = refuseFirst;

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
                throw new QueueFullException("full (test)");
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
                throw new QueueFullException("full (test)");
            }

            foreach (var record in records)
            {
                Records.Add(record.ToArray());
            }
        }

        return ValueTask.CompletedTask;
    }

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
