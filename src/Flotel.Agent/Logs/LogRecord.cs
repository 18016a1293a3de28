using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Flotel.Agent.Logs;

/*
 One captured line as a durable-queue record (version 1). Integers little-endian.

   +----+-----+------------------+------------------+-----------+----+----------+----+-----------+---------+
   | 01 | sev | i64 time (ticks) | i64 cursor ticks | i32 count | wl | workload | cl | container | message |
   +----+-----+------------------+------------------+-----------+----+----------+----+-----------+---------+
    ver   syslog  container's      the capture cursor after     u8    UTF-8      u8   64-hex id   the line, UTF-8,
          severity timestamp, UTC  this line (LogCursor)        len              len              no trailing LF
*/

/// <summary>A captured line as stored in a target's durable buffer (layout above) and read back by the forwarder.</summary>
public readonly struct LogRecord
{
    /// <summary>Bytes before the workload name.</summary>
    public const int FixedHeaderSize = 1 + 1 + 8 + 8 + 4;

    private const byte Version = 1;

    public LogRecord(int severity, long timeTicks, LogCursor cursor, ReadOnlyMemory<byte> workload, ReadOnlyMemory<byte> container, ReadOnlyMemory<byte> message)
    {
        Severity = severity;
        TimeTicks = timeTicks;
        Cursor = cursor;
        Workload = workload;
        Container = container;
        Message = message;
    }

    public int Severity { get; }

    public long TimeTicks { get; }

    public LogCursor Cursor { get; }

    /// <summary>UTF-8 workload name.</summary>
    public ReadOnlyMemory<byte> Workload { get; }

    /// <summary>UTF-8 container id (may be empty for the agent's own lines).</summary>
    public ReadOnlyMemory<byte> Container { get; }

    public ReadOnlyMemory<byte> Message { get; }

    /// <summary>Encoded size of a record.</summary>
    public static int SizeOf(int workloadBytes, int containerBytes, int messageBytes) => FixedHeaderSize + 1 + workloadBytes + 1 + containerBytes + messageBytes;

    /// <summary>Writes one record. <paramref name="workload"/> and <paramref name="container"/> must be ≤ 255 bytes.</summary>
    public static int Write(IBufferWriter<byte> output, int severity, long timeTicks, LogCursor cursor, ReadOnlySpan<byte> workload, ReadOnlySpan<byte> container, ReadOnlySpan<byte> message)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(workload.Length, 255, nameof(workload));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(container.Length, 255, nameof(container));
        int size = SizeOf(workload.Length, container.Length, message.Length);
        var span = output.GetSpan(size);
        span[0] = Version;
        span[1] = (byte)severity;
        BinaryPrimitives.WriteInt64LittleEndian(span[2..], timeTicks);
        BinaryPrimitives.WriteInt64LittleEndian(span[10..], cursor.TimestampTicks);
        BinaryPrimitives.WriteInt32LittleEndian(span[18..], cursor.Count);
        int n = FixedHeaderSize;
        span[n++] = (byte)workload.Length;
        workload.CopyTo(span[n..]);
        n += workload.Length;
        span[n++] = (byte)container.Length;
        container.CopyTo(span[n..]);
        n += container.Length;
        message.CopyTo(span[n..]);
        n += message.Length;
        output.Advance(n);
        return n;
    }

    /// <summary>Reads a record; false when the bytes are not a version-1 record.</summary>
    public static bool TryRead(ReadOnlyMemory<byte> payload, out LogRecord record)
    {
        record = default;
        var span = payload.Span;
        if (span.Length < FixedHeaderSize + 2 || span[0] != Version || span[1] > 7)
        {
            return false;
        }

        int n = FixedHeaderSize;
        int wl = span[n++];
        if (span.Length < n + wl + 1)
        {
            return false;
        }

        var workload = payload.Slice(n, wl);
        n += wl;
        int cl = span[n++];
        if (span.Length < n + cl)
        {
            return false;
        }

        var container = payload.Slice(n, cl);
        n += cl;
        record = new LogRecord(
            span[1],
            BinaryPrimitives.ReadInt64LittleEndian(span[2..]),
            new LogCursor(BinaryPrimitives.ReadInt64LittleEndian(span[10..]), BinaryPrimitives.ReadInt32LittleEndian(span[18..])),
            workload,
            container,
            payload[n..]);
        return true;
    }

    /// <summary>The workload name as text (tests, diagnostics).</summary>
    public string WorkloadText => Encoding.UTF8.GetString(Workload.Span);

    /// <summary>The message as text (tests, diagnostics).</summary>
    public string MessageText => Encoding.UTF8.GetString(Message.Span);
}
