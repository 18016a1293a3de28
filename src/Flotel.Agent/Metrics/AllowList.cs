using System.Text;

namespace Flotel.Agent.Metrics;

/// <summary>
/// Which metric names a target keeps (DW <c>internal/metrics/allow-list.go</c>, docs/reference/flotta-device-worker.md §4.5): matching is exact on
/// <c>__name__</c> — no regex, no labels. <see cref="All"/> is Flotta's permissive list (workloads without
/// <c>allowList</c>, the agent's own metrics); a list with no names keeps nothing (Flotta test "workload has metrics
/// AllowList empty").
/// </summary>
internal sealed class AllowList : IEquatable<AllowList>
{
    private readonly HashSet<string>? _names;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    private AllowList(HashSet<string>? names)
    {
        _names = names;
        if (names is not null)
        {
            _lookup = names.GetAlternateLookup<ReadOnlySpan<char>>();
        }
    }

    /// <summary>Keeps every metric.</summary>
    public static AllowList All { get; } = new(null);

    /// <summary>Keeps exactly <paramref name="names"/>; none when empty.</summary>
    public static AllowList Of(IEnumerable<string> names) => new(new HashSet<string>(names, StringComparer.Ordinal));

    /// <summary>Keeps <paramref name="names"/>, or everything when null.</summary>
    public static AllowList OfOrAll(IEnumerable<string>? names) => names is null ? All : Of(names);

    /// <summary>True for the permissive list.</summary>
    public bool AllowsAll => _names is null;

    /// <summary>The names, sorted (empty for <see cref="All"/>).</summary>
    public IReadOnlyList<string> Names => _names is null ? [] : [.. _names.Order(StringComparer.Ordinal)];

    /// <summary>Whether a metric name is kept.</summary>
    public bool Allows(string metricName) => _names is null || _names.Contains(metricName);

    /// <summary>Whether a UTF-8 metric name is kept, without allocating (names are ASCII; longer ones never match).</summary>
    public bool Allows(ReadOnlySpan<byte> metricName)
    {
        if (_names is null)
        {
            return true;
        }

        if (metricName.Length > 256)
        {
            return _names.Contains(Encoding.UTF8.GetString(metricName));
        }

        Span<char> chars = stackalloc char[256];
        var n = Encoding.UTF8.GetChars(metricName, chars);
        return _lookup.Contains(chars[..n]);
    }

    /// <inheritdoc />
    public bool Equals(AllowList? other) =>
        other is not null && (_names is null ? other._names is null : other._names is not null && _names.SetEquals(other._names));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as AllowList);

    /// <inheritdoc />
    public override int GetHashCode() => _names is null ? 0 : _names.Count;

    /// <inheritdoc />
    public override string ToString() => _names is null ? "*" : "[" + string.Join(", ", Names) + "]";
}
