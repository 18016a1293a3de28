using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Agent.Metrics;

/*
 Metrics WAL — record format, one durable-queue record per scrape (DATA/metrics-wal/, see DurableQueue for segments,
 CRCs and reader cursors). Integers little-endian.

 version 2 (written since 2026-11-27):
   +--------+-----------+--------+-------------+------------+-------------+------------+-----------------------------+
   | u8 = 2 | u8 length | source | i64 firstMs | i64 lastMs | i32 samples | i32 series | snappy block of a protobuf   |
   |        | of source | UTF-8  |             |            |             |            | prometheus.WriteRequest      |
   +--------+-----------+--------+-------------+------------+-------------+------------+-----------------------------+
     source = the target's metric-source (at most 255 bytes; longer names are cut — only used to tell targets apart);
     firstMs/lastMs = oldest/newest sample timestamp; the block is exactly a remote-write 1.0 body (RemoteWriteCodec):
     the scrape's series, labels sorted, edgedeviceid and metric-source set, one sample each (scrape time or the
     exposed timestamp). The header lets the sender check retention and batch sizes and post the block as it is.

 version 1 (read for WALs written before): u8 = 1, then the snappy block alone.

 Records are compressed (a whole node_exporter scrape measured here, 507 samples + 3 health series: 64 KiB of
 protobuf, a 10 KiB record). The reader "remote-write"'s committed cursor is Flotta's metrics-lastwrite watermark:
 everything up to it was acknowledged by the receiver (or dead-lettered).
*/

/// <summary>Encodes one scrape as a WAL record and reads records back (format above).</summary>
internal static class MetricsWal
{
    /// <summary>First byte of the records written now.</summary>
    public const byte Version = 2;

    /// <summary>First byte of records written before the header existed.</summary>
    public const byte Version1 = 1;

    private const int FixedHeaderBytes = 1 + 1 + 8 + 8 + 4 + 4;

    /// <summary>The record for one scrape's series.</summary>
    /// <exception cref="RemoteWriteException">A series has labels remote write cannot carry.</exception>
    public static byte[] Encode(IReadOnlyList<TimeSeries> series, string source)
    {
        var writer = new ArrayBufferWriter<byte>();
        Encode(series, source, writer);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Writes the record into <paramref name="output"/> (cleared first). The scrape loops reuse one writer: a whole
    /// node_exporter record is ~10 KiB but its encoding passes through ~100 KiB buffers, which would otherwise be
    /// large-object-heap garbage twice per scrape interval.
    /// </summary>
    public static void Encode(IReadOnlyList<TimeSeries> series, string source, ArrayBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(output);
        output.ResetWrittenCount();
        var sourceBytes = Math.Min(Encoding.UTF8.GetByteCount(source), byte.MaxValue);
        var header = output.GetSpan(FixedHeaderBytes + sourceBytes);
        header[0] = Version;
        header[1] = (byte)sourceBytes;
        Span<byte> name = stackalloc byte[Encoding.UTF8.GetMaxByteCount(source.Length)];
        Encoding.UTF8.GetBytes(source, name);
        name[..sourceBytes].CopyTo(header[2..]);
        var (samples, first, last) = WalScrape.Measure(series);
        var at = 2 + sourceBytes;
        BinaryPrimitives.WriteInt64LittleEndian(header[at..], first);
        BinaryPrimitives.WriteInt64LittleEndian(header[(at + 8)..], last);
        BinaryPrimitives.WriteInt32LittleEndian(header[(at + 16)..], samples);
        BinaryPrimitives.WriteInt32LittleEndian(header[(at + 20)..], series.Count);
        output.Advance(FixedHeaderBytes + sourceBytes);
        RemoteWriteCodec.Encode(new WriteRequest(series), output);
    }

    /// <summary>
    /// The scrape in a record without decoding its series (version 2: <see cref="WalScrape.Body"/> is a slice of
    /// <paramref name="record"/>); a version-1 record is decoded and re-encoded. false when the record is neither or its
    /// header does not fit.
    /// </summary>
    public static bool TryRead(ReadOnlyMemory<byte> record, out WalScrape scrape)
    {
        scrape = null!;
        var span = record.Span;
        if (span.Length >= 1 && span[0] == Version1)
        {
            if (!TryDecode(span, out var series))
            {
                return false;
            }

            var source = series.Count > 0 && series[0].Labels.TryGetValue(ScrapeBuilder.SourceLabel, out var value) ? value : string.Empty;
            scrape = WalScrape.FromSeries(source, series);
            return true;
        }

        if (span.Length < FixedHeaderBytes || span[0] != Version || span.Length < FixedHeaderBytes + span[1])
        {
            return false;
        }

        var sourceBytes = span[1];
        var name = Encoding.UTF8.GetString(span.Slice(2, sourceBytes));
        var at = 2 + sourceBytes;
        var first = BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
        var last = BinaryPrimitives.ReadInt64LittleEndian(span[(at + 8)..]);
        var samples = BinaryPrimitives.ReadInt32LittleEndian(span[(at + 16)..]);
        var count = BinaryPrimitives.ReadInt32LittleEndian(span[(at + 20)..]);
        if (samples < 0 || count < 0)
        {
            return false;
        }

        scrape = new WalScrape(name, record[(FixedHeaderBytes + sourceBytes)..], count, samples, first, last);
        return true;
    }

    /// <summary>The series of a record of either version; false when it is neither or does not decode.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> record, out IReadOnlyList<TimeSeries> series)
    {
        series = [];
        ReadOnlySpan<byte> body;
        if (record.Length >= 1 && record[0] == Version1)
        {
            body = record[1..];
        }
        else if (record.Length >= FixedHeaderBytes && record[0] == Version && record.Length >= FixedHeaderBytes + record[1])
        {
            body = record[(FixedHeaderBytes + record[1])..];
        }
        else
        {
            return false;
        }

        try
        {
            series = RemoteWriteCodec.Decode(body).Series;
            return true;
        }
        catch (RemoteWriteException)
        {
            return false;
        }
    }
}
