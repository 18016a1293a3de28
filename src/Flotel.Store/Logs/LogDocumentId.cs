using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Flotel.Store.Logs;

/// <summary>
/// Document ids in Elasticsearch's shape: 20 characters of URL-safe base64 over 15 bytes (like ES's auto-generated
/// ids, e.g. the blog's <c>z07vuYAB7aBvPfPHfBaK</c>).
/// </summary>
/// <remarks>
/// Ids the store generates are not stored: each is computed from the row and its index (<see cref="ForRow"/>), and read
/// back to the row it names (<see cref="TryRowOf"/>), so a row given no <c>_id</c> keeps none in <c>docs_N</c> (20 bytes
/// per row less) and a look-up by a generated id is one primary-key seek. The 15 bytes:
/// <code>
/// +-----------------------------------+-------------------------------+
/// | row id, 6 bytes big-endian XOR k0 | k1: 9 bytes                   |
/// +-----------------------------------+-------------------------------+
///   k0, k1: bytes of the index's uuid (22 base64url characters of 16 random bytes, see <see cref="NewIndexUuid"/>):
///           k0 = uuid[2..8), k1 = uuid[9..16) + uuid[0..2) (uuid[8] holds a version 4 Guid's fixed variant bits)
/// </code>
/// The key is the uuid's own random bytes rather than a hash of them: a hash would load the system's OpenSSL (4 MiB of
/// RSS) into a gateway that otherwise never needs it (plain syslog, no TLS, no fleet). A uuid that is not 22 base64url
/// characters (never written by the store) falls back to SHA-256 of its text.
/// Ids stay unique across indices and gateways as long as their uuids differ (k1: 72 random bits); the
/// XOR only keeps consecutive rows' ids from sharing a visible prefix. An id a client gives that has this index's form
/// names the generated row it would compute to (the store refuses one naming a row not written yet). Before, ids were
/// 6 bytes of milliseconds, 3 of a per-process sequence and 6 drawn once per process (<see cref="New(TimeProvider)"/>):
/// indices whose <c>id</c> column is NOT NULL still get those, stored as text.
/// </remarks>
public static class LogDocumentId
{
    /// <summary>Length of a generated id in characters.</summary>
    public const int Length = 20;

    /// <summary>Bytes of an index's id key (<see cref="KeyOf"/>).</summary>
    public const int KeyBytes = 15;

    private const int RowBytes = 6;

    /// <summary>Characters of an index uuid: 16 bytes in unpadded base64url.</summary>
    public const int UuidLength = 22;

    private const int UuidBytes = 16;

    // Drawn from Guid.NewGuid (the runtime's own secure random source on Linux: no OpenSSL), like the index uuids.
    private static readonly byte[] ProcessTail = NewGuidBytes()[..6];
    private static int s_sequence = BinaryPrimitives.ReadInt32LittleEndian(NewGuidBytes()) & int.MaxValue;

    /// <summary>A new time-based id using the current time.</summary>
    public static string New() => New(TimeProvider.System);

    /// <summary>A new time-based id using <paramref name="time"/>'s clock (for indices that store their ids as text).</summary>
    public static string New(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        Span<byte> bytes = stackalloc byte[15];
        long ms = time.GetUtcNow().ToUnixTimeMilliseconds();
        Span<byte> msBytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(msBytes, ms);
        msBytes[2..].CopyTo(bytes);
        int seq = Interlocked.Increment(ref s_sequence);
        bytes[6] = (byte)(seq >> 16);
        bytes[7] = (byte)(seq >> 8);
        bytes[8] = (byte)seq;
        ProcessTail.CopyTo(bytes[9..]);
        Span<char> chars = stackalloc char[Length];
        _ = Base64Url.TryEncodeToChars(bytes, chars, out _);
        return new string(chars);
    }

    /// <summary>A new index uuid: 16 random bytes (a version 4 Guid's) as 22 base64url characters, Elasticsearch's shape.</summary>
    public static string NewIndexUuid() => Base64Url.EncodeToString(NewGuidBytes());

    /// <summary>The id key of an index with uuid <paramref name="indexUuid"/> (layout above).</summary>
    public static byte[] KeyOf(string indexUuid)
    {
        ArgumentNullException.ThrowIfNull(indexUuid);
        Span<byte> uuid = stackalloc byte[UuidBytes];
        if (indexUuid.Length != UuidLength || !Base64Url.IsValid(indexUuid, out int decoded) || decoded != UuidBytes
            || !Base64Url.TryDecodeFromChars(indexUuid, uuid, out int written) || written != UuidBytes
            || !Base64Url.EncodeToString(uuid).Equals(indexUuid, StringComparison.Ordinal))
        {
            // Not the store's canonical spelling (the decoder ignores the last character's unused bits and white space,
            // so two such texts could share bytes): keyed by the text itself.
            return SHA256.HashData(Encoding.UTF8.GetBytes(indexUuid))[..KeyBytes];
        }

        var key = new byte[KeyBytes];
        uuid[2..8].CopyTo(key);
        uuid[9..].CopyTo(key.AsSpan(RowBytes));
        uuid[..2].CopyTo(key.AsSpan(RowBytes + 7));
        return key;
    }

    private static byte[] NewGuidBytes()
    {
        var bytes = new byte[UuidBytes];
        _ = Guid.NewGuid().TryWriteBytes(bytes);
        return bytes;
    }

    /// <summary>The generated id of row <paramref name="rowId"/> of the index with id key <paramref name="key"/>.</summary>
    public static string ForRow(ReadOnlySpan<byte> key, long rowId)
    {
        Span<byte> bytes = stackalloc byte[15];
        Span<byte> row = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(row, rowId);
        for (int i = 0; i < RowBytes; i++)
        {
            bytes[i] = (byte)(row[2 + i] ^ key[i]);
        }

        key[RowBytes..KeyBytes].CopyTo(bytes[RowBytes..]);
        Span<char> chars = stackalloc char[Length];
        _ = Base64Url.TryEncodeToChars(bytes, chars, out _);
        return new string(chars);
    }

    /// <summary>The row a generated id of the index with id key <paramref name="key"/> names; false for any other id.</summary>
    public static bool TryRowOf(ReadOnlySpan<byte> key, ReadOnlySpan<char> id, out long rowId)
    {
        rowId = 0;
        Span<byte> bytes = stackalloc byte[16];
        // IsValid first: the decoder throws on a character outside the alphabet, and any text may be asked.
        if (id.Length != Length || !Base64Url.IsValid(id, out int decoded) || decoded != 15
            || !Base64Url.TryDecodeFromChars(id, bytes, out int written) || written != 15
            || !bytes[RowBytes..15].SequenceEqual(key[RowBytes..KeyBytes]))
        {
            return false;
        }

        for (int i = 0; i < RowBytes; i++)
        {
            rowId = (rowId << 8) | (byte)(bytes[i] ^ key[i]);
        }

        // One row, one id: the decoder skips white space, so the spelling is compared with the one the row gets.
        return rowId > 0 && ForRow(key, rowId).AsSpan().SequenceEqual(id);
    }
}
