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
        var body = RemoteWriteCodec.Encode(new WriteRequest(series));
        var record = new byte[body.Length + 1];
        record[0] = Version;
        body.CopyTo(record.AsSpan(1));
        return record;
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
