using System.Runtime.InteropServices;
using System.Text;

namespace Flotel.Store.Metrics;

/// <summary>
/// One string object per distinct label name or value across the metric store's series. A fleet repeats the same
/// names on every series and most values on many (metric names, jobs, a device's id on each of its series), so a
/// series costs its unique values only. Reference-counted by the series that use a string: a string leaves the table
/// when the last of them is deleted, so the table holds at most the labels of the series in the index (bounded by
/// <see cref="MetricStoreOptions.MaxSeries"/> × the remote-write limit on labels per series).
/// Not thread-safe: the store's lock guards it.
/// </summary>
internal sealed class LabelInterner
{
    private readonly Dictionary<string, int> _uses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _byChars;
    private char[] _chars = new char[256];

    public LabelInterner() => _byChars = _uses.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Distinct strings held.</summary>
    public int Count => _uses.Count;

    /// <summary>The shared string equal to the UTF-8 <paramref name="utf8"/>, counting one more use of it.</summary>
    public string Intern(ReadOnlySpan<byte> utf8)
    {
        if (_chars.Length < utf8.Length)
        {
            // UTF-8 never decodes to more UTF-16 code units than it has bytes.
            _chars = new char[Math.Max(utf8.Length, _chars.Length * 2)];
        }

        var n = Encoding.UTF8.GetChars(utf8, _chars);
        return Intern(_chars.AsSpan(0, n), null);
    }

    /// <summary>The shared string equal to <paramref name="text"/> (possibly <paramref name="text"/> itself), counting one more use of it.</summary>
    public string Intern(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Intern(text.AsSpan(), text);
    }

    /// <summary>Counts one use of <paramref name="interned"/> (a string <see cref="Intern(string)"/> returned) less.</summary>
    public void Release(string interned)
    {
        ref var uses = ref CollectionsMarshal.GetValueRefOrNullRef(_uses, interned);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref uses))
        {
            throw new InvalidOperationException("released a label string the table does not hold");
        }

        if (--uses == 0)
        {
            _uses.Remove(interned);
        }
    }

    /// <summary>Uses counted for <paramref name="text"/> (0 when not held); for tests.</summary>
    internal int UsesOf(string text) => _uses.GetValueOrDefault(text);

    private string Intern(ReadOnlySpan<char> chars, string? given)
    {
        if (_byChars.TryGetValue(chars, out var held, out _))
        {
            CollectionsMarshal.GetValueRefOrNullRef(_uses, held)++;
            return held;
        }

        var text = given ?? new string(chars);
        _uses.Add(text, 1);
        return text;
    }
}
