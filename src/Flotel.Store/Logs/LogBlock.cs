using System.Buffers.Binary;
using ZstdSharp;

namespace Flotel.Store.Logs;

/// <summary>
/// The <c>_source</c> texts of consecutive rows of one index, decompressed: entry <c>i</c> is the row
/// <c>FirstRowId + i</c> (an empty entry is a row id that no row was given when blocks were re-packed), and where the
/// block was written with a messages section, where each source's <c>message</c> lies in it.
/// </summary>
/// <remarks>
/// A block's <c>data</c> has one of two layouts. Blocks written before the messages section are one zstd frame of:
/// <code>
/// +----------+----------------------------+----------+----------+-----+
/// | n: u32LE | end[0] … end[n-1]: u32LE   | source 0 | source 1 | ... |
/// +----------+----------------------------+----------+----------+-----+
///   end[i] = offset just past source i, counted from the first source
/// </code>
/// Blocks written since start with a zstd skippable frame (magic <c>0x184D2A50</c>, RFC 8878 §3.1.2) holding the
/// length of the frame after it, then two zstd frames: the messages, then the sources with their message cut out,
/// compressed with the messages (all of M's decompressed bytes) as a raw-content dictionary (RFC 8878 §5).
/// <code>
/// +---------------------+-----------+--------------+----------------------------------------------------------+
/// | 50 2A 4D 18 | 4: u32LE | m: u32LE | frame M (m bytes) | frame R                                         |
/// +---------------------+-----------+--------------+----------------------------------------------------------+
/// M = | n: u32LE | mlen[0..n-1]: u32LE | message 0 | message 1 | ... |
/// R = | n: u32LE | rlen[0..n-1]: u32LE | at[0..n-1]: u32LE | rest 0 | rest 1 | ... |
///   lengths rather than ends: small repeated numbers compress to a fraction of increasing offsets (0.9 MB of 10.3 for
///   200,000 events of bench/Flotel.LogCorpus's mix)
///   message i = the contents of source i's message string as written (JSON escapes kept, no quotes);
///   source i  = rest i[..at[i]] + message i + rest i[at[i]..]; at[i] = 0xFFFFFFFF: no message was cut (message i empty)
/// </code>
/// The message is the one the full-text index holds (the last top-level <c>message</c>, when it is a string; see
/// <see cref="SourceFields"/>). A phrase check decompresses frame M only (<see cref="DecodeMessages"/>): a third of the
/// bytes or less, and no JSON to parse. With the messages as the rest's dictionary, what a source repeats of its message
/// is found as in one frame.
/// <para>
/// Frame M of a block written or re-packed after its index got a trained dictionary (<c>dicts_N</c>, see <see cref="LogStore"/>) is
/// compressed with that dictionary: its frame header carries the dictionary's id (<c>Dictionary_ID</c>, RFC 8878
/// §3.1.1.1.3), which is how decoding finds it (<see cref="FrameDictionaryId"/>); 0 or absent means no dictionary. A
/// block is 1 MiB of sources, a third of it messages: too little for zstd to learn the repeated vocabulary of an index's
/// messages within the block, which the dictionary brings (docs/benchmarks.md, "Log storage"). Frame R keeps M as its
/// dictionary. The whole-source layout never has a dictionary.
/// </para>
/// </remarks>
internal sealed class LogBlock
{
    // A decompressed block is at most this large: the store closes a block once it passes LogStore.MaxBlockBytes of
    // sources, so a block is 1 MiB plus at most one document (a _bulk request is far smaller than this); a corrupt frame
    // that claims more is refused before anything is allocated.
    internal const int MaxDecodedBytes = 256 * 1024 * 1024;

    /// <summary><c>at[i]</c> of a source with no message cut out.</summary>
    internal const uint NoMessage = uint.MaxValue;

    // The skippable frame opening a block with a messages section: magic, content size 4, the length of frame M.
    private const uint SkippableMagic = 0x184D2A50;
    private const int HeaderBytes = 12;

    // Sources in the first layout (null for a block decoded for its messages only).
    private readonly byte[]? _payload;
    private readonly int _sourcesStart;

    // Where each message lies: in _payload's sources (a full block with a messages section), or in _messages (n, ends,
    // messages: a block decoded for its messages only); null for a block without a messages section.
    private readonly int[]? _messageAt;
    private readonly byte[]? _messages;

    private LogBlock(long firstRowId, int count, byte[]? payload, int[]? messageAt, byte[]? messages)
    {
        FirstRowId = firstRowId;
        Count = count;
        _payload = payload;
        _sourcesStart = 4 + (4 * count);
        _messageAt = messageAt;
        _messages = messages;
    }

    public long FirstRowId { get; }

    public int Count { get; }

    /// <summary>Bytes this block holds in memory (what the cache counts).</summary>
    public int Bytes => (_payload?.Length ?? 0) + (_messages?.Length ?? 0) + (4 * (_messageAt?.Length ?? 0));

    /// <summary>Whether <see cref="Message"/> can answer (false: a block written before the messages section).</summary>
    public bool HasMessages => _messages is not null || _messageAt is not null;

    /// <summary>Whether <see cref="Source"/> can answer (false: a block decoded for its messages only).</summary>
    public bool HasSources => _payload is not null;

    /// <summary>The source of row <paramref name="rowId"/>; empty when the block has no entry for it.</summary>
    public ReadOnlySpan<byte> Source(long rowId)
    {
        long i = rowId - FirstRowId;
        if (i < 0 || i >= Count || _payload is null)
        {
            return [];
        }

        int start = i == 0 ? 0 : End(_payload, (int)i - 1);
        return _payload.AsSpan(_sourcesStart + start, End(_payload, (int)i) - start);
    }

    /// <summary>
    /// The contents of row <paramref name="rowId"/>'s message string as its source holds them (JSON escapes kept); empty
    /// when it has none. Only for a block with <see cref="HasMessages"/>.
    /// </summary>
    public ReadOnlySpan<byte> Message(long rowId)
    {
        long i = rowId - FirstRowId;
        if (i < 0 || i >= Count)
        {
            return [];
        }

        if (_messages is not null)
        {
            int start = i == 0 ? 0 : End(_messages, (int)i - 1);
            return _messages.AsSpan(_sourcesStart + start, End(_messages, (int)i) - start);
        }

        if (_messageAt is null || _messageAt[2 * i] < 0)
        {
            return [];
        }

        return Source(rowId).Slice(_messageAt[2 * i], _messageAt[(2 * i) + 1]);
    }

    /// <summary>
    /// Where row <paramref name="rowId"/>'s message string contents lie in its source (offset, length), offset -1 when it
    /// has none: from the messages section, or read from the JSON for a block written before it.
    /// </summary>
    public (int At, int Length) MessageRange(long rowId)
    {
        long i = rowId - FirstRowId;
        if (i >= 0 && i < Count && _messageAt is not null)
        {
            return (_messageAt[2 * i], _messageAt[(2 * i) + 1]);
        }

        return SourceFields.TryFindMessage(Source(rowId), out int at, out int length) ? (at, length) : (-1, 0);
    }

    private static int End(byte[] payload, int i) => BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(4 + (4 * i)));

    /// <summary>
    /// Compresses the sources laid out back to back in <paramref name="sources"/>, <paramref name="ends"/> as in the
    /// diagram, each source's message found in its JSON (<see cref="SourceFields.TryFindMessage"/>).
    /// </summary>
    public static byte[] Encode(Compressor compressor, ReadOnlySpan<byte> sources, ReadOnlySpan<int> ends, byte[]? dictionary = null)
    {
        var messages = new (int At, int Length)[ends.Length];
        for (int i = 0; i < ends.Length; i++)
        {
            int start = i == 0 ? 0 : ends[i - 1];
            messages[i] = start <= ends[i] && ends[i] <= sources.Length
                && SourceFields.TryFindMessage(sources[start..ends[i]], out int at, out int length) ? (at, length) : (-1, 0);
        }

        return Encode(compressor, sources, ends, messages, dictionary);
    }

    /// <summary>
    /// Compresses the sources laid out back to back in <paramref name="sources"/>, <paramref name="ends"/> as in the
    /// diagram, with the message ranges of <paramref name="messages"/> (offset in the source, or -1, and length).
    /// </summary>
    public static byte[] Encode(Compressor compressor, ReadOnlySpan<byte> sources, ReadOnlySpan<int> ends, ReadOnlySpan<(int At, int Length)> messages,
        byte[]? dictionary = null)
        => new Encoder(compressor).Encode(sources, ends, messages, dictionary).ToArray();

    /// <summary>
    /// Compresses blocks into buffers it keeps and reuses (a block is about a megabyte: new arrays for each would be
    /// large-object garbage on the write path). What <see cref="Encode"/> returns is valid until its next call.
    /// </summary>
    internal sealed class Encoder(Compressor compressor) : IDisposable
    {
        private byte[] _plainMessages = [];
        private byte[] _plainRest = [];
        private byte[] _packed = [];

        public Compressor Compressor { get; } = compressor;

        /// <summary>
        /// Compresses one block; frame M with <paramref name="dictionary"/> (a trained zstd dictionary, whose id its frame
        /// header then carries) when given.
        /// </summary>
        public ReadOnlySpan<byte> Encode(ReadOnlySpan<byte> sources, ReadOnlySpan<int> ends, ReadOnlySpan<(int At, int Length)> messages,
            byte[]? dictionary = null)
        {
            int n = ends.Length;
            if (messages.Length != n)
            {
                throw new ArgumentException("one message range per source", nameof(messages));
            }

            long messageBytes = 0;
            for (int i = 0; i < n; i++)
            {
                messageBytes += messages[i].At >= 0 ? messages[i].Length : 0;
            }

            int messagesLength = checked(4 + (4 * n) + (int)messageBytes);
            int restLength = checked(4 + (8 * n) + sources.Length - (int)messageBytes);
            Grow(ref _plainMessages, messagesLength);
            Grow(ref _plainRest, restLength);
            BinaryPrimitives.WriteInt32LittleEndian(_plainMessages, n);
            BinaryPrimitives.WriteInt32LittleEndian(_plainRest, n);
            int messageEnd = 0;
            int restEnd = 0;
            int messagesStart = 4 + (4 * n);
            int restStart = 4 + (8 * n);
            for (int i = 0; i < n; i++)
            {
                int start = i == 0 ? 0 : ends[i - 1];
                ReadOnlySpan<byte> source = sources[start..ends[i]];
                (int at, int length) = messages[i];
                if (at >= 0)
                {
                    source.Slice(at, length).CopyTo(_plainMessages.AsSpan(messagesStart + messageEnd));
                    messageEnd += length;
                    source[..at].CopyTo(_plainRest.AsSpan(restStart + restEnd));
                    source[(at + length)..].CopyTo(_plainRest.AsSpan(restStart + restEnd + at));
                    restEnd += source.Length - length;
                }
                else
                {
                    source.CopyTo(_plainRest.AsSpan(restStart + restEnd));
                    restEnd += source.Length;
                }

                BinaryPrimitives.WriteInt32LittleEndian(_plainMessages.AsSpan(4 + (4 * i)), at >= 0 ? length : 0);
                BinaryPrimitives.WriteInt32LittleEndian(_plainRest.AsSpan(4 + (4 * i)), source.Length - (at >= 0 ? length : 0));
                BinaryPrimitives.WriteUInt32LittleEndian(_plainRest.AsSpan(4 + (4 * n) + (4 * i)), at >= 0 ? (uint)at : NoMessage);
            }

            int bound = HeaderBytes + Compressor.GetCompressBound(messagesLength) + Compressor.GetCompressBound(restLength);
            Grow(ref _packed, bound);
            int m;
            Compressor.LoadDictionary(dictionary ?? []);
            try
            {
                m = Compressor.Wrap(_plainMessages.AsSpan(0, messagesLength), _packed.AsSpan(HeaderBytes));
            }
            finally
            {
                Compressor.LoadDictionary([]);
            }

            // The rest is compressed with the messages section as its dictionary (raw content: it cannot start with the
            // dictionary magic, its first four bytes being a count of entries), so what a source repeats of its message
            // (a container id, a program name) costs what it cost in one frame.
            int r;
            Compressor.LoadDictionary(_plainMessages.AsSpan(0, messagesLength));
            try
            {
                r = Compressor.Wrap(_plainRest.AsSpan(0, restLength), _packed.AsSpan(HeaderBytes + m));
            }
            finally
            {
                Compressor.LoadDictionary([]);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(_packed, SkippableMagic);
            BinaryPrimitives.WriteUInt32LittleEndian(_packed.AsSpan(4), 4);
            BinaryPrimitives.WriteInt32LittleEndian(_packed.AsSpan(8), m);
            return _packed.AsSpan(0, HeaderBytes + m + r);
        }

        private static void Grow(ref byte[] buffer, int length)
        {
            if (buffer.Length < length)
            {
                buffer = new byte[Math.Max(length, buffer.Length * 2)];
            }
        }

        public void Dispose() => Compressor.Dispose();
    }

    /// <summary>
    /// Decompresses and checks a block's <c>data</c>, sources and message ranges; <paramref name="dictionaries"/> gives a
    /// decompressor holding the index's trained dictionary of an id (null when the index has none of that id).
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The data is not a block of <paramref name="expectedCount"/> entries, or needs a dictionary the index does not hold.
    /// </exception>
    public static LogBlock Decode(Decompressor decompressor, long firstRowId, long expectedCount, ReadOnlySpan<byte> data,
        Func<uint, Decompressor?>? dictionaries = null)
    {
        if (!TrySplit(data, out ReadOnlySpan<byte> messagesFrame, out ReadOnlySpan<byte> restFrame))
        {
            byte[] payload = Unwrap(decompressor, data);
            int count = CheckEnds(payload, expectedCount, 0);
            return new LogBlock(firstRowId, count, payload, null, null);
        }

        byte[] messages = UnwrapMessages(decompressor, messagesFrame, dictionaries);
        byte[] rest;
        decompressor.LoadDictionary(messages);
        try
        {
            rest = Unwrap(decompressor, restFrame);
        }
        finally
        {
            decompressor.LoadDictionary([]);
        }

        int n = CheckEnds(LengthsToEnds(messages), expectedCount, 0);
        _ = CheckEnds(LengthsToEnds(rest), expectedCount, 4 * n);
        // The sources in the first layout (n, ends, then each rest with its message put back): both sections less one
        // count and the rest's ends and offsets.
        long length = (long)messages.Length + rest.Length - 4 - (8L * n);
        if (length > MaxDecodedBytes)
        {
            throw new InvalidDataException("the block's sections together are too large");
        }

        byte[] joined = new byte[length];
        int[] messageAt = new int[2 * n];
        BinaryPrimitives.WriteInt32LittleEndian(joined, n);
        int sourcesStart = 4 + (4 * n);
        int restStart = 4 + (8 * n);
        int written = 0;
        for (int i = 0; i < n; i++)
        {
            int ms = i == 0 ? 0 : End(messages, i - 1);
            int me = End(messages, i);
            int rs = i == 0 ? 0 : End(rest, i - 1);
            int re = End(rest, i);
            uint at = BinaryPrimitives.ReadUInt32LittleEndian(rest.AsSpan(4 + (4 * n) + (4 * i)));
            ReadOnlySpan<byte> restSpan = rest.AsSpan(restStart + rs, re - rs);
            ReadOnlySpan<byte> message = messages.AsSpan(sourcesStart + ms, me - ms);
            Span<byte> target = joined.AsSpan(sourcesStart + written);
            if (at == NoMessage)
            {
                if (message.Length > 0)
                {
                    throw new InvalidDataException($"entry {i} has a message but no place for it");
                }

                restSpan.CopyTo(target);
                messageAt[2 * i] = -1;
            }
            else
            {
                if (at > (uint)restSpan.Length)
                {
                    throw new InvalidDataException($"entry {i}'s message lies outside its source");
                }

                restSpan[..(int)at].CopyTo(target);
                message.CopyTo(target[(int)at..]);
                restSpan[(int)at..].CopyTo(target[((int)at + message.Length)..]);
                messageAt[2 * i] = (int)at;
                messageAt[(2 * i) + 1] = message.Length;
            }

            written += restSpan.Length + message.Length;
            BinaryPrimitives.WriteInt32LittleEndian(joined.AsSpan(4 + (4 * i)), written);
        }

        return new LogBlock(firstRowId, n, joined, messageAt, null);
    }

    /// <summary>
    /// Decompresses only the messages of a block written with a messages section (what a phrase check reads); a block
    /// without one is decoded whole (<see cref="HasSources"/> tells which).
    /// </summary>
    /// <exception cref="InvalidDataException">The data is not a block of <paramref name="expectedCount"/> entries.</exception>
    public static LogBlock DecodeMessages(Decompressor decompressor, long firstRowId, long expectedCount, ReadOnlySpan<byte> data,
        Func<uint, Decompressor?>? dictionaries = null)
    {
        if (!TrySplit(data, out ReadOnlySpan<byte> messagesFrame, out _))
        {
            return Decode(decompressor, firstRowId, expectedCount, data, dictionaries);
        }

        byte[] messages = UnwrapMessages(decompressor, messagesFrame, dictionaries);
        int n = CheckEnds(LengthsToEnds(messages), expectedCount, 0);
        return new LogBlock(firstRowId, n, null, null, messages);
    }

    private static bool TrySplit(ReadOnlySpan<byte> data, out ReadOnlySpan<byte> messages, out ReadOnlySpan<byte> rest)
    {
        messages = [];
        rest = [];
        if (data.Length < HeaderBytes || BinaryPrimitives.ReadUInt32LittleEndian(data) != SkippableMagic)
        {
            return false;
        }

        uint m = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
        if (BinaryPrimitives.ReadUInt32LittleEndian(data[4..]) != 4 || m > (uint)(data.Length - HeaderBytes))
        {
            throw new InvalidDataException("the block's header does not match its length");
        }

        messages = data.Slice(HeaderBytes, (int)m);
        rest = data[(HeaderBytes + (int)m)..];
        return true;
    }

    // Frame M, with the trained dictionary its header names: a decompressor that keeps it loaded (loading a 110 KB
    // dictionary costs about as much as decompressing the frame, see LogSourceFunction.Blocks).
    private static byte[] UnwrapMessages(Decompressor decompressor, ReadOnlySpan<byte> frame, Func<uint, Decompressor?>? dictionaries)
    {
        uint id = FrameDictionaryId(frame);
        return id == 0
            ? Unwrap(decompressor, frame)
            : Unwrap(dictionaries?.Invoke(id)
                ?? throw new InvalidDataException($"its messages were compressed with zstd dictionary {id}, which the index does not hold"), frame);
    }

    /// <summary>
    /// The <c>Dictionary_ID</c> of a zstd frame's header (RFC 8878 §3.1.1.1), 0 when the header has none or the bytes are
    /// not a frame header (decompressing then reports what is wrong).
    /// </summary>
    internal static uint FrameDictionaryId(ReadOnlySpan<byte> frame)
    {
        const uint FrameMagic = 0xFD2FB528;
        if (frame.Length < 5 || BinaryPrimitives.ReadUInt32LittleEndian(frame) != FrameMagic)
        {
            return 0;
        }

        // Frame_Header_Descriptor: bits 0–1 Dictionary_ID_Flag (0, 1, 2 or 4 bytes), bit 5 Single_Segment_Flag (set: no
        // Window_Descriptor byte before the id).
        byte descriptor = frame[4];
        int idBytes = (descriptor & 3) switch { 0 => 0, 1 => 1, 2 => 2, _ => 4 };
        int at = (descriptor & 0x20) != 0 ? 5 : 6;
        if (idBytes == 0 || frame.Length < at + idBytes)
        {
            return 0;
        }

        ReadOnlySpan<byte> id = frame.Slice(at, idBytes);
        return idBytes switch
        {
            1 => id[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(id),
            _ => BinaryPrimitives.ReadUInt32LittleEndian(id),
        };
    }

    /// <summary>The id a trained zstd dictionary declares (RFC 8878 §5: magic 0xEC30A437, then the id), 0 when it is not one.</summary>
    internal static uint DictionaryId(ReadOnlySpan<byte> dictionary)
    {
        const uint DictionaryMagic = 0xEC30A437;
        return dictionary.Length >= 8 && BinaryPrimitives.ReadUInt32LittleEndian(dictionary) == DictionaryMagic
            ? BinaryPrimitives.ReadUInt32LittleEndian(dictionary[4..])
            : 0;
    }

    private static byte[] Unwrap(Decompressor decompressor, ReadOnlySpan<byte> frame)
    {
        ulong size;
        try
        {
            size = Decompressor.GetDecompressedSize(frame);
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
            if (decompressor.Unwrap(frame, payload) != payload.Length)
            {
                throw new InvalidDataException("the frame is shorter than it declares");
            }
        }
        catch (ZstdException e)
        {
            throw new InvalidDataException("the frame cannot be decompressed (" + e.Message + ")", e);
        }

        return payload;
    }

    // Turns a section's lengths into ends in place (what CheckEnds and End read); a sum past the section is left for
    // CheckEnds to refuse.
    private static byte[] LengthsToEnds(byte[] section)
    {
        int count = BinaryPrimitives.ReadInt32LittleEndian(section);
        if (count < 0 || 4 + (4L * count) > section.Length)
        {
            return section;
        }

        long end = 0;
        for (int i = 0; i < count; i++)
        {
            Span<byte> slot = section.AsSpan(4 + (4 * i), 4);
            end += BinaryPrimitives.ReadUInt32LittleEndian(slot);
            BinaryPrimitives.WriteInt32LittleEndian(slot, (int)Math.Min(end, int.MaxValue));
        }

        return section;
    }

    // Checks a section's count and ends (the entries start after the ends and `extra` more bytes); returns the count.
    private static int CheckEnds(byte[] payload, long expectedCount, int extra)
    {
        int count = BinaryPrimitives.ReadInt32LittleEndian(payload);
        long entriesStart = 4 + (4L * count) + extra;
        if (count < 0 || count != expectedCount || entriesStart > payload.Length)
        {
            throw new InvalidDataException($"it holds {count} entries where {expectedCount} were written");
        }

        int previous = 0;
        for (int i = 0; i < count; i++)
        {
            int end = BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(4 + (4 * i)));
            if (end < previous || entriesStart + end > payload.Length)
            {
                throw new InvalidDataException($"entry {i} lies outside the block");
            }

            previous = end;
        }

        return count;
    }
}
