using Flotel.Model.Metrics;

namespace Flotel.Store.Metrics;

/// <summary>
/// One selected series with the raw chunks that overlap the requested range, copied out of the store under its lock
/// and decoded later, outside it: by <see cref="MetricStore.Select"/> into one exact array per series, or by the
/// query engine series by series into a reused buffer (a range query then never holds every series' samples at once).
/// </summary>
internal sealed class SeriesChunks
{
    private readonly List<(byte[] Data, bool Inside)> _chunks;
    private readonly long _minT;
    private readonly long _maxT;

    /// <param name="labels">The series' labels.</param>
    /// <param name="chunks">Oldest first; Inside when every sample of the chunk is in [minT, maxT].</param>
    /// <param name="minT">Start of the requested range (ms, inclusive).</param>
    /// <param name="maxT">End of the requested range (ms, inclusive).</param>
    public SeriesChunks(LabelSet labels, List<(byte[] Data, bool Inside)> chunks, long minT, long maxT)
    {
        Labels = labels;
        _chunks = chunks;
        _minT = minT;
        _maxT = maxT;
        foreach (var (data, _) in chunks)
        {
            MaxSamples += HeaderCount(data);
        }
    }

    public LabelSet Labels { get; }

    /// <summary>Chunks held (stored ones in the range and the head).</summary>
    public int ChunkCount => _chunks.Count;

    /// <summary>Samples the chunks declare: at least as many as are in the range (the buffer size <see cref="DecodeInto"/> needs).</summary>
    public int MaxSamples { get; }

    /// <summary>Writes the samples in the range into <paramref name="buffer"/> (at least <see cref="MaxSamples"/> long); returns how many.</summary>
    /// <exception cref="InvalidDataException">A chunk is corrupt.</exception>
    public int DecodeInto(Sample[] buffer)
    {
        var n = 0;
        foreach (var (data, _) in _chunks)
        {
            n = ChunkDecoder.Decode(data, _minT, _maxT, buffer, n);
        }

        return n;
    }

    /// <summary>
    /// The samples in the range in an array of the exact size: chunks inside the range count by their header, the
    /// ones across an end by decoding them first.
    /// </summary>
    /// <exception cref="InvalidDataException">A chunk is corrupt.</exception>
    public Sample[] Decode()
    {
        var total = 0;
        foreach (var (data, inside) in _chunks)
        {
            total += inside ? HeaderCount(data) : CountInRange(data);
        }

        if (total == 0)
        {
            return [];
        }

        var samples = new Sample[total];
        if (DecodeInto(samples) != total)
        {
            throw new InvalidDataException("metric chunk holds fewer samples than its header declares");
        }

        return samples;
    }

    private static int HeaderCount(ReadOnlySpan<byte> chunk) => chunk.Length < 2 ? 0 : System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(chunk);

    private int CountInRange(ReadOnlySpan<byte> chunk)
    {
        var n = 0;
        var it = new XorChunkIterator(chunk);
        while (it.MoveNext(out var t, out _))
        {
            if (t > _maxT)
            {
                break;
            }

            if (t >= _minT)
            {
                n++;
            }
        }

        return n;
    }
}
