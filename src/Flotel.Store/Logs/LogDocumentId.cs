using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Flotel.Store.Logs;

/// <summary>
/// Document ids in Elasticsearch's shape: 20 characters of URL-safe base64 over 15 bytes (like ES's auto-generated
/// ids, e.g. the blog's <c>z07vuYAB7aBvPfPHfBaK</c>).
/// </summary>
/// <remarks>
/// Layout, as Elasticsearch's time-based ids: 6 bytes of Unix milliseconds (big-endian), 3 bytes of a per-process
/// sequence, 6 bytes drawn at random once per process (ES uses the MAC address there). The time prefix keeps ids of
/// one batch close together in the store's id index (cheaper inserts than random ids); the per-process tail keeps
/// ids from two gateways apart without a random draw per id (that draw cost more than the rest of the id).
/// </remarks>
public static class LogDocumentId
{
    /// <summary>Length of a generated id in characters.</summary>
    public const int Length = 20;

    private static readonly byte[] ProcessTail = RandomNumberGenerator.GetBytes(6);
    private static int s_sequence = RandomNumberGenerator.GetInt32(int.MaxValue);

    /// <summary>A new id using the current time.</summary>
    public static string New() => New(TimeProvider.System);

    /// <summary>A new id using <paramref name="time"/>'s clock.</summary>
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
}
