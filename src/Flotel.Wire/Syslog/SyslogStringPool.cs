using System.Text;

namespace Flotel.Wire.Syslog;

/// <summary>
/// Reuses the strings of header fields that repeat from line to line on one connection (HOSTNAME, APP-NAME, PROCID,
/// device, workload, container id), so materializing an event allocates only what is new in it. Not thread-safe:
/// one pool per connection (or per reader loop).
/// </summary>
/// <remarks>
/// A direct-mapped table of <see cref="Slots"/> entries keyed by an FNV-1a hash of the bytes; a collision just
/// replaces the entry. Values longer than <see cref="MaxPooledBytes"/> are never pooled (they are rarely repeated),
/// so the pool holds at most about 256 × 64 bytes.
/// </remarks>
public sealed class SyslogStringPool
{
    /// <summary>Longest field (in bytes) kept in the pool: a 64-hex container id fits.</summary>
    public const int MaxPooledBytes = 64;

    private const int Slots = 256;

    private readonly byte[]?[] _keys = new byte[Slots][];
    private readonly string?[] _values = new string[Slots];

    /// <summary>The string of <paramref name="utf8"/> (invalid UTF-8 becomes U+FFFD), from the pool when seen before.</summary>
    public string Get(ReadOnlySpan<byte> utf8, Encoding encoding)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        if (utf8.Length > MaxPooledBytes)
        {
            return encoding.GetString(utf8);
        }

        uint hash = 2166136261;
        foreach (byte b in utf8)
        {
            hash = (hash ^ b) * 16777619;
        }

        int slot = (int)(hash % Slots);
        byte[]? key = _keys[slot];
        if (key is not null && utf8.SequenceEqual(key))
        {
            return _values[slot]!;
        }

        string value = encoding.GetString(utf8);
        _keys[slot] = utf8.ToArray();
        _values[slot] = value;
        return value;
    }
}
