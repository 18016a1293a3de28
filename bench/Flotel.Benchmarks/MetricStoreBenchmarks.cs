using System.Globalization;
using BenchmarkDotNet.Attributes;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Benchmarks;

/// <summary>
/// The embedded metric store: ingest of a 10,000-series × 5-sample remote-write protobuf into existing series
/// (per sample), and the chunk codecs per sample (Gorilla XOR encode/decode, decimal encode at seal time).
/// Each ingest invocation rewrites the request's timestamps in place (+75 s) so every sample is new: the
/// timestamps are 6-byte varints for every value below 2^42 ms (year 2109), so the rewrite never changes a length.
/// </summary>
[MemoryDiagnoser]
public class MetricStoreBenchmarks
{
    private const int Series = 10_000;
    private const int SamplesPerSeries = 5;
    private const int ChunkSamples = 240;
    private const long T0 = 1_700_000_000_000;

    private string _dir = string.Empty;
    private MetricStore _store = null!;
    private byte[] _request = [];
    private int[] _timestampOffsets = [];
    private long[] _timestamps = [];
    private Sample[] _chunkSamples = [];
    private byte[] _xorChunk = [];
    private byte[] _compactChunk = [];
    private readonly Sample[] _decoded = new Sample[ChunkSamples];
    private readonly XorChunkAppender _appender = new(2048);

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "flotel-bench-metricstore-" + Guid.NewGuid().ToString("N"));
        _store = MetricStore.Open(new MetricStoreOptions { DataDirectory = _dir });
        var series = new List<TimeSeries>(Series);
        for (var s = 0; s < Series; s++)
        {
            var samples = new Sample[SamplesPerSeries];
            for (var k = 0; k < SamplesPerSeries; k++)
            {
                samples[k] = new Sample(T0 + (k * 15_000L), 1 + (s * 10.0) + k);
            }

            series.Add(new TimeSeries(LabelSet.Of("__name__", "node_metric_" + (s % 100).ToString(CultureInfo.InvariantCulture), "instance", "host-" + (s / 100).ToString(CultureInfo.InvariantCulture) + ":9100", "job", "node"), samples));
        }

        _request = WriteRequestEncoder.Encode(new WriteRequest(series));
        _timestampOffsets = FindTimestampVarints(_request);
        _timestamps = new long[_timestampOffsets.Length];
        for (var i = 0; i < _timestamps.Length; i++)
        {
            _timestamps[i] = T0 + (i % SamplesPerSeries * 15_000L);
        }

        _store.Append(_request); // creates the series; measured invocations append to existing ones

        var rng = new Random(1);
        _chunkSamples = new Sample[ChunkSamples];
        var value = 1_000_000.0;
        for (var i = 0; i < ChunkSamples; i++)
        {
            value += rng.Next(0, 1000);
            _chunkSamples[i] = new Sample(T0 + (i * 15_000L) + rng.Next(0, 3), value);
        }

        foreach (var s in _chunkSamples)
        {
            _appender.TryAppend(s.TimestampMs, s.Value);
        }

        _xorChunk = _appender.Bytes.ToArray();
        _compactChunk = CompactChunkEncoder.TryEncode(_chunkSamples)!;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = Series * SamplesPerSeries)]
    public int IngestRequestPerSample()
    {
        for (var i = 0; i < _timestampOffsets.Length; i++)
        {
            _timestamps[i] += SamplesPerSeries * 15_000L;
            WriteVarint6(_request.AsSpan(_timestampOffsets[i], 6), _timestamps[i]);
        }

        return _store.Append(_request).Appended;
    }

    [Benchmark(OperationsPerInvoke = ChunkSamples)]
    public int GorillaEncodePerSample()
    {
        _appender.Reset();
        foreach (var s in _chunkSamples)
        {
            _appender.TryAppend(s.TimestampMs, s.Value);
        }

        return _appender.ByteLength;
    }

    [Benchmark(OperationsPerInvoke = ChunkSamples)]
    public double GorillaDecodePerSample()
    {
        var it = new XorChunkIterator(_xorChunk);
        var sum = 0.0;
        while (it.MoveNext(out _, out var v))
        {
            sum += v;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = ChunkSamples)]
    public int DecimalEncodePerSample() => DecimalChunkEncoder.TryEncode(_chunkSamples)?.Length ?? 0;

    /// <summary>The compact encoding of the same chunk (what a closing chunk of decimals is written as).</summary>
    [Benchmark(OperationsPerInvoke = ChunkSamples)]
    public int CompactEncodePerSample() => CompactChunkEncoder.TryEncode(_chunkSamples)?.Length ?? 0;

    /// <summary>Whole-chunk decode of the compact chunk (the query path's <see cref="ChunkDecoder"/>).</summary>
    [Benchmark(OperationsPerInvoke = ChunkSamples)]
    public int CompactDecodePerSample() => ChunkDecoder.Decode(_compactChunk, long.MinValue, long.MaxValue, _decoded, 0);

    private static void WriteVarint6(Span<byte> destination, long value)
    {
        var v = (ulong)value;
        for (var i = 0; i < 5; i++)
        {
            destination[i] = (byte)((v & 0x7F) | 0x80);
            v >>= 7;
        }

        destination[5] = (byte)v;
    }

    /// <summary>Offsets of every Sample.timestamp varint (WriteRequest.1 → TimeSeries.2 → Sample.2); each must be 6 bytes.</summary>
    private static int[] FindTimestampVarints(byte[] pb)
    {
        var result = new List<int>();
        var pos = 0;
        while (pos < pb.Length)
        {
            var tag = ReadVarint(pb, ref pos);
            var len = (int)ReadVarint(pb, ref pos);
            var end = pos + len;
            if (tag == ((1 << 3) | 2))
            {
                while (pos < end)
                {
                    var seriesTag = ReadVarint(pb, ref pos);
                    var seriesLen = (int)ReadVarint(pb, ref pos);
                    var seriesEnd = pos + seriesLen;
                    if (seriesTag == ((2 << 3) | 2))
                    {
                        while (pos < seriesEnd)
                        {
                            var sampleTag = ReadVarint(pb, ref pos);
                            if (sampleTag == ((1 << 3) | 1))
                            {
                                pos += 8;
                            }
                            else if (sampleTag == (2 << 3))
                            {
                                var start = pos;
                                ReadVarint(pb, ref pos);
                                if (pos - start != 6)
                                {
                                    throw new InvalidOperationException("timestamp varint is not 6 bytes");
                                }

                                result.Add(start);
                            }
                            else
                            {
                                throw new InvalidOperationException("unexpected sample field");
                            }
                        }
                    }

                    pos = seriesEnd;
                }
            }

            pos = end;
        }

        if (result.Count != Series * SamplesPerSeries)
        {
            throw new InvalidOperationException("found " + result.Count.ToString(CultureInfo.InvariantCulture) + " timestamps");
        }

        return [.. result];
    }

    private static ulong ReadVarint(byte[] pb, ref int pos)
    {
        ulong v = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = pb[pos++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return v;
            }
        }
    }
}
