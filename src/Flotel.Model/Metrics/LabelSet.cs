namespace Flotel.Model.Metrics;

/// <summary>
/// An immutable list of labels sorted by name in ordinal (byte) order, the order the remote-write spec
/// requires on the wire. Construction sorts; it does not validate names (the wire codecs do, with their own
/// reasons), so a model object can be built from anything and checked where it crosses a boundary.
/// </summary>
public sealed class LabelSet : IEquatable<LabelSet>, IReadOnlyList<Label>
{
    private readonly Label[] _labels;

    // GetHashCode's value, computed on first use (0 = not yet; a real 0 is stored as 1). Label sets key the query
    // engine's per-step dictionaries, where hashing every label's strings again per point was measurable.
    private int _hash;

    /// <summary>The empty label set.</summary>
    public static LabelSet Empty { get; } = new(Array.Empty<Label>());

    /// <summary>Creates a set from labels in any order; they are copied and sorted by name (ordinal).</summary>
    public LabelSet(IEnumerable<Label> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        _labels = [.. labels];
        if (!IsSorted(_labels))
        {
            Array.Sort(_labels, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        }
    }

    private LabelSet(Label[] sorted) => _labels = sorted;

    /// <summary>Creates a set from name/value pairs: <c>LabelSet.Of("__name__", "up", "job", "node")</c>.</summary>
    public static LabelSet Of(params string[] nameValuePairs)
    {
        ArgumentNullException.ThrowIfNull(nameValuePairs);
        if (nameValuePairs.Length % 2 != 0)
        {
            throw new ArgumentException("name/value pairs must have an even count", nameof(nameValuePairs));
        }

        var labels = new Label[nameValuePairs.Length / 2];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = new Label(nameValuePairs[2 * i], nameValuePairs[(2 * i) + 1]);
        }

        return new LabelSet((IEnumerable<Label>)labels);
    }

    /// <summary>
    /// Wraps <paramref name="sorted"/> without copying or sorting: for decoders that already produce
    /// labels in ordinal name order and never touch the array again. Wrong order breaks equality.
    /// </summary>
    public static LabelSet UnsafeFromSorted(Label[] sorted) => new(sorted);

    /// <summary>Number of labels.</summary>
    public int Count => _labels.Length;

    /// <summary>The label at <paramref name="index"/> in name order.</summary>
    public Label this[int index] => _labels[index];

    /// <summary>The labels as a span, in name order.</summary>
    public ReadOnlySpan<Label> AsSpan() => _labels;

    /// <summary>The value of <c>__name__</c>, or null when absent.</summary>
    public string? MetricName => TryGetValue(Label.MetricNameLabel, out var v) ? v : null;

    /// <summary>Looks up a label value by name.</summary>
    public bool TryGetValue(string name, out string value)
    {
        foreach (var label in _labels)
        {
            if (string.Equals(label.Name, name, StringComparison.Ordinal))
            {
                value = label.Value;
                return true;
            }
        }

        value = string.Empty;
        return false;
    }

    /// <inheritdoc />
    public IEnumerator<Label> GetEnumerator() => ((IEnumerable<Label>)_labels).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _labels.GetEnumerator();

    /// <inheritdoc />
    public bool Equals(LabelSet? other) => other is not null && _labels.AsSpan().SequenceEqual(other._labels);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as LabelSet);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        if (_hash != 0)
        {
            return _hash;
        }

        var hash = default(HashCode);
        foreach (var label in _labels)
        {
            hash.Add(label.Name, StringComparer.Ordinal);
            hash.Add(label.Value, StringComparer.Ordinal);
        }

        var value = hash.ToHashCode();
        _hash = value == 0 ? 1 : value;
        return _hash;
    }

    /// <summary>Prometheus notation: <c>{a="1", b="2"}</c>.</summary>
    public override string ToString() => "{" + string.Join(", ", _labels) + "}";

    private static bool IsSorted(Label[] labels)
    {
        for (var i = 1; i < labels.Length; i++)
        {
            if (string.CompareOrdinal(labels[i - 1].Name, labels[i].Name) > 0)
            {
                return false;
            }
        }

        return true;
    }
}
