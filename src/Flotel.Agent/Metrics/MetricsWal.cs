using System.Buffers;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Agent.Metrics;

/*
 Metrics WAL — record format (version 1), one durable-queue record per scrape (DATA/metrics-wal/, see DurableQueue for
 segments, CRCs and reader cursors):

   +---------+------------------------------------------------------------+
   | u8 = 1  | snappy block of a protobuf prometheus.WriteRequest         |
   +---------+------------------------------------------------------------+
     version   exactly a remote-write 1.0 body (RemoteWriteCodec): the scrape's series, labels sorted, edgedeviceid
               and metric-source already set, one sample each (scrape time or the exposed timestamp)

 The body is the remote-write encoding so records are compressed (a whole node_exporter scrape measured here, 507
 samples + 3 health series: 64 KiB of protobuf, a 10 KiB record) and the sender only has to merge and re-encode. The reader "remote-write"'s committed cursor is Flotta's metrics-lastwrite
 watermark: everything up to it was acknowledged by the receiver (or dead-lettered).
*/

/// <summary>Encodes one scrape as a WAL record (format above).</summary>
internal static class MetricsWal
{
    /// <summary>First byte of every record.</summary>
    public const byte Version = 1;

    /// <summary>The record for one scrape's series.</summary>
    /// <exception cref="RemoteWriteException">A series has labels remote write cannot carry.</exception>
    public static byte[] Encode(IReadOnlyList<TimeSeries> series)
    {
        var writer = new ArrayBufferWriter<byte>();
        Encode(series, writer);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Writes the record into <paramref name="output"/> (cleared first). The scrape loops reuse one writer: a whole
    /// node_exporter record is ~10 KiB but its encoding passes through ~100 KiB buffers, which would otherwise be
    /// large-object-heap garbage twice per scrape interval.
    /// </summary>
    public static void Encode(IReadOnlyList<TimeSeries> series, ArrayBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.ResetWrittenCount();
        output.GetSpan(1)[0] = Version;
        output.Advance(1);
        RemoteWriteCodec.Encode(new WriteRequest(series), output);
    }

    /// <summary>The series of a record; false when it is not a version-1 record or does not decode.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> record, out IReadOnlyList<TimeSeries> series)
    {
        series = [];
        if (record.Length < 1 || record[0] != Version)
        {
            return false;
        }

        try
        {
            series = RemoteWriteCodec.Decode(record[1..]).Series;
            return true;
        }
        catch (RemoteWriteException)
        {
            return false;
        }
    }
}
