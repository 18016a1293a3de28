namespace Flotel.Model.Manifests;

/// <summary>One <c>matchExpressions</c> entry: <c>key</c>, <c>operator</c> (In, NotIn, Exists, DoesNotExist), <c>values</c>.</summary>
public sealed record LabelSelectorRequirement
{
    public const string In = "In";
    public const string NotIn = "NotIn";
    public const string Exists = "Exists";
    public const string DoesNotExist = "DoesNotExist";

    public required string Key { get; init; }

    public required string Operator { get; init; }

    public IReadOnlyList<string> Values { get; init; } = [];

    /// <summary>Kubernetes semantics: NotIn also matches when the label is absent. Unknown operators match nothing.</summary>
    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var present = labels.TryGetValue(Key, out var value);
        return Operator switch
        {
            In => present && Values.Contains(value!, StringComparer.Ordinal),
            NotIn => !present || !Values.Contains(value!, StringComparer.Ordinal),
            Exists => present,
            DoesNotExist => !present,
            _ => false,
        };
    }
}
