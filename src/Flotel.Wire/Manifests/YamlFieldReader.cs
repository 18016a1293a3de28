using System.Globalization;
using Flotel.Model.Manifests;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Flotel.Wire.Manifests;

/// <summary>
/// Typed reads from YamlDotNet's representation model that never throw: a value of the wrong shape
/// becomes a diagnostic naming <c>FILE:LINE</c> and the field path, and the read returns null.
/// Scalars follow the Kubernetes/JSON reading of YAML: plain <c>null</c>, <c>~</c> or nothing is absent;
/// integers and booleans must be plain (unquoted) scalars.
/// </summary>
public sealed class YamlFieldReader
{
    private readonly Report _report;

    /// <summary>Reports into a list of manifest diagnostics.</summary>
    public YamlFieldReader(string file, List<ManifestDiagnostic> diagnostics)
        : this(file, (severity, line, path, message) => diagnostics.Add(new ManifestDiagnostic(severity, file, line, path, message)))
    {
        ArgumentNullException.ThrowIfNull(diagnostics);
    }

    /// <summary>Reports through <paramref name="report"/>, for inputs with diagnostics of their own type (the gateway's configuration).</summary>
    public YamlFieldReader(string file, Report report)
    {
        File = file;
        _report = report;
    }

    /// <summary>Receives one problem at <paramref name="line"/> of <see cref="File"/> (0 = no line).</summary>
    public delegate void Report(DiagnosticSeverity severity, int line, string fieldPath, string message);

    public string File { get; }

    public static int LineOf(YamlNode node) => checked((int)node.Start.Line);

    public static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    public static bool IsNull(YamlNode? node) =>
        node is null
        || (node is YamlScalarNode scalar
            && scalar.Style is ScalarStyle.Plain or ScalarStyle.Any
            && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL");

    public void Error(YamlNode? node, string path, string message) => Add(DiagnosticSeverity.Error, node, path, message);

    public void Warning(YamlNode? node, string path, string message) => Add(DiagnosticSeverity.Warning, node, path, message);

    /// <summary>How many errors (not warnings) were reported so far.</summary>
    public int ErrorCount { get; private set; }

    public void Add(DiagnosticSeverity severity, YamlNode? node, string path, string message)
    {
        if (severity == DiagnosticSeverity.Error)
        {
            ErrorCount++;
        }

        _report(severity, node is null ? 0 : LineOf(node), path, message);
    }

    /// <summary>The value of <paramref name="key"/> in <paramref name="mapping"/>, or null.</summary>
    public static YamlNode? Get(YamlMappingNode? mapping, string key)
    {
        if (mapping is null)
        {
            return null;
        }

        foreach (var (k, v) in mapping.Children)
        {
            if (k is YamlScalarNode { Value: { } name } && string.Equals(name, key, StringComparison.Ordinal))
            {
                return v;
            }
        }

        return null;
    }

    /// <summary>
    /// The entries of a mapping with string keys. When <paramref name="known"/> is given, any other key is
    /// reported as a warning ("unknown field, ignored").
    /// </summary>
    public List<(string Key, YamlNode KeyNode, YamlNode Value)> Entries(YamlMappingNode mapping, string path, IReadOnlySet<string>? known = null)
    {
        var entries = new List<(string, YamlNode, YamlNode)>(mapping.Children.Count);
        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                Error(keyNode, path, "expected a string key");
                continue;
            }

            if (known is not null && !known.Contains(key))
            {
                Warning(keyNode, Join(path, key), "unknown field, ignored");
            }

            entries.Add((key, keyNode, value));
        }

        return entries;
    }

    public YamlMappingNode? Mapping(YamlNode? node, string path)
    {
        if (IsNull(node))
        {
            return null;
        }

        if (node is YamlMappingNode mapping)
        {
            return mapping;
        }

        Error(node, path, "expected a mapping, got " + Describe(node!));
        return null;
    }

    public YamlSequenceNode? Sequence(YamlNode? node, string path)
    {
        if (IsNull(node))
        {
            return null;
        }

        if (node is YamlSequenceNode sequence)
        {
            return sequence;
        }

        Error(node, path, "expected a list, got " + Describe(node!));
        return null;
    }

    /// <summary>Any scalar as text (Kubernetes would also accept <c>name: 123</c> only as a string after quoting; Flotel is lenient here).</summary>
    public string? String(YamlNode? node, string path)
    {
        if (IsNull(node))
        {
            return null;
        }

        if (node is YamlScalarNode scalar)
        {
            return scalar.Value ?? string.Empty;
        }

        Error(node, path, "expected a string, got " + Describe(node!));
        return null;
    }

    /// <summary>A plain integer scalar within [<paramref name="min"/>, <paramref name="max"/>]; the range message quotes the key.</summary>
    public long? Integer(YamlNode? node, string path, long min, long max, string? rangeHint = null)
    {
        if (IsNull(node))
        {
            return null;
        }

        if (node is not YamlScalarNode scalar)
        {
            Error(node, path, "expected an integer, got " + Describe(node!));
            return null;
        }

        var text = scalar.Value ?? string.Empty;
        if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any))
        {
            Error(node, path, $"expected an integer, got the quoted string \"{text}\" (remove the quotes)");
            return null;
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            Error(node, path, $"expected an integer, got \"{text}\"");
            return null;
        }

        if (value < min || value > max)
        {
            var key = path[(path.LastIndexOf('.') + 1)..];
            var range = max == long.MaxValue
                ? string.Create(CultureInfo.InvariantCulture, $"at least {min}")
                : string.Create(CultureInfo.InvariantCulture, $"between {min} and {max}");
            Error(node, path, $"`{key}` must be {range}, got {text}{(rangeHint is null ? string.Empty : " " + rangeHint)}");
            return null;
        }

        return value;
    }

    /// <summary>A plain <c>true</c>/<c>false</c> scalar (YAML 1.2 core schema).</summary>
    public bool? Boolean(YamlNode? node, string path)
    {
        if (IsNull(node))
        {
            return null;
        }

        if (node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: { } text })
        {
            switch (text)
            {
                case "true" or "True" or "TRUE":
                    return true;
                case "false" or "False" or "FALSE":
                    return false;
            }
        }

        Error(node, path, "expected true or false, got " + Describe(node!));
        return null;
    }

    /// <summary>A mapping of string to string (labels, ConfigMap data, matchLabels).</summary>
    public Dictionary<string, string> StringMap(YamlNode? node, string path)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Mapping(node, path) is not { } mapping)
        {
            return map;
        }

        foreach (var (key, _, value) in Entries(mapping, path))
        {
            var childPath = Join(path, key);
            if (value is YamlScalarNode scalar)
            {
                // A plain null is kept as "", as kubectl does for `key:` in data.
                map[key] = IsNull(scalar) ? string.Empty : scalar.Value ?? string.Empty;
            }
            else
            {
                Error(value, childPath, "expected a string, got " + Describe(value));
            }
        }

        return map;
    }

    public List<string> StringList(YamlNode? node, string path)
    {
        var list = new List<string>();
        if (Sequence(node, path) is not { } sequence)
        {
            return list;
        }

        var i = 0;
        foreach (var item in sequence.Children)
        {
            if (String(item, string.Create(CultureInfo.InvariantCulture, $"{path}[{i}]")) is { } text)
            {
                list.Add(text);
            }

            i++;
        }

        return list;
    }

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"\"{s.Value}\"",
        _ => "an unsupported node",
    };
}
