using System.Buffers;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Agent.Metrics;

/// <summary>
/// One scrape on its way from the WAL to the receiver: its remote-write body as stored (snappy-compressed protobuf
/// <c>WriteRequest</c>) with the counts and time range the record header carries (<see cref="MetricsWal"/>). The sender
/// posts the body as it is, or joins several bodies into one request, so a scrape is not decoded into objects and
/// encoded again on its way out — that round trip was two thirds of the agent's allocations per scrape.
/// </summary>
internal sealed class WalScrape
{
    public WalScrape(string source, ReadOnlyMemory<byte> body, int series, int samples, long firstMs, long lastMs)
    {
        Source = source;
        Body = body;
        Series = series;
        Samples = samples;
        FirstMs = firstMs;
        LastMs = lastMs;
    }

    /// <summary>The target's <c>metric-source</c>: scrapes of different targets never share a series.</summary>
    public string Source { get; }

    /// <summary>A complete remote-write 1.0 body (snappy block of a protobuf <c>WriteRequest</c>).</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>Series in <see cref="Body"/>.</summary>
    public int Series { get; }

    /// <summary>Samples in <see cref="Body"/>.</summary>
    public int Samples { get; }

    /// <summary>Oldest sample timestamp (ms since the epoch); <see cref="long.MaxValue"/> when there is no sample.</summary>
    public long FirstMs { get; }

    /// <summary>Newest sample timestamp (ms since the epoch); <see cref="long.MinValue"/> when there is no sample.</summary>
    public long LastMs { get; }

    /// <summary>Encodes <paramref name="series"/> as a scrape of <paramref name="source"/> (also the slow paths: splits, expiry).</summary>
    /// <exception cref="RemoteWriteException">A series has labels remote write cannot carry.</exception>
    public static WalScrape FromSeries(string source, IReadOnlyList<TimeSeries> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        var (samples, first, last) = Measure(series);
        var body = new ArrayBufferWriter<byte>();
        RemoteWriteCodec.Encode(new WriteRequest(series), body);
        return new WalScrape(source, body.WrittenMemory, series.Count, samples, first, last);
    }

    /// <summary>The series of <see cref="Body"/> (dead letters, re-batching).</summary>
    /// <exception cref="RemoteWriteException">The body does not decode.</exception>
    public IReadOnlyList<TimeSeries> DecodeSeries() => RemoteWriteCodec.Decode(Body.Span).Series;

    /// <summary>Sample count and time range of <paramref name="series"/>.</summary>
    public static (int Samples, long FirstMs, long LastMs) Measure(IReadOnlyList<TimeSeries> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        var samples = 0;
        var first = long.MaxValue;
        var last = long.MinValue;
        foreach (var s in series)
        {
            foreach (var sample in s.Samples)
            {
                samples++;
                first = Math.Min(first, sample.TimestampMs);
                last = Math.Max(last, sample.TimestampMs);
            }
        }

        return (samples, first, last);
    }
}
