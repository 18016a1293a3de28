using System.Buffers.Binary;
using ZstdSharp;

namespace Flotel.Store.Logs;

/// <summary>
/// The <c>_source</c> texts of consecutive rows of one index, decompressed: entry <c>i</c> is the row
/// <c>FirstRowId + i</c> (an empty entry is a row id that no row was given when blocks were re-packed).
/// </summary>
/// <remarks>
/// A block's <c>data</c> is one zstd frame of:
/// <code>
/// +----------+----------------------------+----------+----------+-----+
/// | n: u32LE | end[0] … end[n-1]: u32LE   | source 0 | source 1 | ... |
/// +----------+----------------------------+----------+----------+-----+
///   end[i] = offset just past source i, counted from the first source
/// </code>
/// </remarks>
internal sealed class LogBlock
{
    // A decompressed block is at most this large: the store closes a block once it passes LogStore.MaxBlockBytes of
    // sources, so a block is 1 MiB plus at most one document (a _bulk request is far smaller than this); a corrupt frame
    // that claims more is refused before anything is allocated.
    internal const int MaxDecodedBytes = 256 * 1024 * 1024;

    private readonly byte[] _payload;
    private readonly int _sourcesStart;

    private LogBlock(long firstRowId, int count, byte[] payload)
    {
        FirstRowId = firstRowId;
        Count = count;
        _payload = payload;
        _sourcesStart = 4 + (4 * count);
    }

    public long FirstRowId { get; }

    public int Count { get; }

    /// <summary>Bytes this block holds in memory (what the cache counts).</summary>
    public int Bytes => _payload.Length;

    /// <summary>The source of row <paramref name="rowId"/>; empty when the block has no entry for it.</summary>
    public ReadOnlySpan<byte> Source(long rowId)
    {
        long i = rowId - FirstRowId;
        if (i < 0 || i >= Count)
        {
            return [];
        }

        int start = i == 0 ? 0 : End((int)i - 1);
        return _payload.AsSpan(_sourcesStart + start, End((int)i) - start);
    }

    private int End(int i) => BinaryPrimitives.ReadInt32LittleEndian(_payload.AsSpan(4 + (4 * i)));

    /// <summary>Compresses the sources laid out back to back in <paramref name="sources"/>, <paramref name="ends"/> as in the diagram.</summary>
    public static byte[] Encode(Compressor compressor, ReadOnlySpan<byte> sources, ReadOnlySpan<int> ends)
        => new Encoder(compressor).Encode(sources, ends).ToArray();

    /// <summary>
    /// Compresses blocks into buffers it keeps and reuses (a block is about a megabyte: new arrays for each would be
    /// large-object garbage on the write path). What <see cref="Encode"/> returns is valid until its next call.
    /// </summary>
    internal sealed class Encoder(Compressor compressor) : IDisposable
    {
        private byte[] _plain = [];
        private byte[] _packed = [];

        public Compressor Compressor { get; } = compressor;

        public ReadOnlySpan<byte> Encode(ReadOnlySpan<byte> sources, ReadOnlySpan<int> ends)
        {
            int length = 4 + (4 * ends.Length) + sources.Length;
            if (_plain.Length < length)
            {
                _plain = new byte[Math.Max(length, _plain.Length * 2)];
            }

            BinaryPrimitives.WriteInt32LittleEndian(_plain, ends.Length);
            for (int i = 0; i < ends.Length; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(_plain.AsSpan(4 + (4 * i)), ends[i]);
            }

            sources.CopyTo(_plain.AsSpan(4 + (4 * ends.Length)));
            int bound = Compressor.GetCompressBound(length);
            if (_packed.Length < bound)
            {
                _packed = new byte[Math.Max(bound, _packed.Length * 2)];
            }

            int written = Compressor.Wrap(_plain.AsSpan(0, length), _packed);
            return _packed.AsSpan(0, written);
        }

        public void Dispose() => Compressor.Dispose();
    }

    /// <summary>Decompresses and checks a block's <c>data</c>.</summary>
    /// <exception cref="InvalidDataException">The data is not a block of <paramref name="expectedCount"/> entries.</exception>
    public static LogBlock Decode(Decompressor decompressor, long firstRowId, long expectedCount, ReadOnlySpan<byte> data)
    {
        ulong size;
        try
        {
            size = Decompressor.GetDecompressedSize(data);
        }
        catch (ZstdException e)
        {
            throw new InvalidDataException("not a zstd frame (" + e.Message + ")", e);
        }

        if (size is < 4 or > MaxDecodedBytes)
        {
            throw new InvalidDataException($"the frame declares {size} bytes");
        }

        byte[] payload = new byte[(int)size];
        try
        {
            if (decompressor.Unwrap(data, payload) != payload.Length)
            {
                throw new InvalidDataException("the frame is shorter than it declares");
            }
        }
        catch (ZstdException e)
        {
            throw new InvalidDataException("the frame cannot be decompressed (" + e.Message + ")", e);
        }

        int count = BinaryPrimitives.ReadInt32LittleEndian(payload);
        long sourcesStart = 4 + (4L * count);
        if (count < 0 || count != expectedCount || sourcesStart > payload.Length)
        {
            throw new InvalidDataException($"it holds {count} entries where {expectedCount} were written");
        }

        int previous = 0;
        for (int i = 0; i < count; i++)
        {
            int end = BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(4 + (4 * i)));
            if (end < previous || sourcesStart + end > payload.Length)
            {
                throw new InvalidDataException($"entry {i} lies outside the block");
            }

            previous = end;
        }

        return new LogBlock(firstRowId, count, payload);
    }
}
