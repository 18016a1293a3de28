using System.Globalization;
using System.Text;

namespace Flotel.Gateway.Configuration;

/// <summary>
/// The key tables of docs/configuration.md ("Gateway configuration", and one per output type under "Gateway outputs"),
/// generated from the declarations (<see cref="GatewayConfigKeys"/>, <see cref="ConfigKeySet"/>), so the documented
/// names, ranges and defaults are the ones the loader applies. Each table sits between its markers
/// (<see cref="BeginMarker"/> and <see cref="EndMarker"/>; <see cref="OutputBeginMarker"/> and
/// <see cref="OutputEndMarker"/>); the prose around it is written by hand.
/// A test compares the file with this output and, with <c>FLOTEL_UPDATE_DOCS=1</c>, rewrites the section (docs/style.md,
/// "Generated documentation").
/// </summary>
internal static class GatewayConfigDocs
{
    public const string BeginMarker = "<!-- BEGIN GENERATED: gateway keys, from the [ConfigKey] declarations of GatewayOptions; regenerate with FLOTEL_UPDATE_DOCS=1 dotnet test tests/Flotel.Gateway.Tests --filter ConfigurationDocs -->";

    public const string EndMarker = "<!-- END GENERATED: gateway keys -->";

    /// <summary>The first line of an output type's key table (its entry of <c>outputs:</c>).</summary>
    public static string OutputBeginMarker(string typeName) =>
        $"<!-- BEGIN GENERATED: {typeName} output keys, from the [ConfigKey] declarations of its options; "
        + "regenerate with FLOTEL_UPDATE_DOCS=1 dotnet test tests/Flotel.Gateway.Tests --filter ConfigurationDocs -->";

    /// <summary>The last line of an output type's key table.</summary>
    public static string OutputEndMarker(string typeName) => $"<!-- END GENERATED: {typeName} output keys -->";

    /// <summary>The Markdown table of the gateway's keys: one row per key, in declaration order, each line ending in <c>\n</c>.</summary>
    public static string KeyTable() => KeyTable(GatewayConfigKeys.All);

    /// <summary>The table of the keys an output type's options class declares (<c>name</c> and <c>type</c> aside).</summary>
    public static string OutputKeyTable(Type optionsType) => KeyTable(ConfigKeySet.For(optionsType).All);

    private static string KeyTable(IReadOnlyList<ConfigKey> keys)
    {
        var sb = new StringBuilder();
        sb.Append("| key | type / values | default | meaning |\n");
        sb.Append("|---|---|---|---|\n");
        foreach (var key in keys)
        {
            sb.Append("| ").Append(Cell(KeyCell(key)))
                .Append(" | ").Append(Cell(TypeCell(key)))
                .Append(" | ").Append(Cell(DefaultCell(key)))
                .Append(" | ").Append(Cell(key.Declaration.Doc))
                .Append(" |\n");
        }

        return sb.ToString();
    }

    /// <summary>
    /// <paramref name="document"/> with the text between the markers replaced by <paramref name="table"/>; throws when
    /// the markers are missing, repeated or out of order (the section is never guessed).
    /// </summary>
    public static string ReplaceGeneratedSection(string document, string table) => ReplaceGeneratedSection(document, table, BeginMarker, EndMarker);

    /// <summary>As <see cref="ReplaceGeneratedSection(string, string)"/>, between the given markers.</summary>
    public static string ReplaceGeneratedSection(string document, string table, string beginMarker, string endMarker)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentException.ThrowIfNullOrEmpty(beginMarker);
        ArgumentException.ThrowIfNullOrEmpty(endMarker);
        var begin = document.IndexOf(beginMarker, StringComparison.Ordinal);
        var end = document.IndexOf(endMarker, StringComparison.Ordinal);
        if (begin < 0 || end < begin
            || document.IndexOf(beginMarker, begin + 1, StringComparison.Ordinal) >= 0
            || document.IndexOf(endMarker, end + 1, StringComparison.Ordinal) >= 0)
        {
            throw new InvalidOperationException($"the document must hold the line '{beginMarker}' once, then the line '{endMarker}' once");
        }

        var start = begin + beginMarker.Length;
        return string.Concat(document.AsSpan(0, start), "\n", table, document.AsSpan(end));
    }

    private static string KeyCell(ConfigKey key) => key.Kind switch
    {
        ConfigKeyKind.Tls => $"`{key.Path}.{{certificate, key, clientCa}}`",
        _ => $"`{key.Path}`",
    };

    private static string TypeCell(ConfigKey key)
    {
        var d = key.Declaration;
        var unit = d.Unit is null ? string.Empty : d.Unit + ", ";
        switch (key.Kind)
        {
            case ConfigKeyKind.Text:
                return TextType(d);
            case ConfigKeyKind.TextList:
                return d.Format == ConfigFormat.Text && d.Unit is null ? "list of strings" : $"list of {TextType(d)}";
            case ConfigKeyKind.Enum:
                return string.Join(", ", ConfigEnum.Names(key.Property.PropertyType).Select(v => $"`{v}`"));
            case ConfigKeyKind.Integer:
                var (min, max) = key.Range;
                var typeMax = key.Property.PropertyType == typeof(int) ? int.MaxValue : long.MaxValue;
                return unit + (max == typeMax
                    ? string.Create(CultureInfo.InvariantCulture, $"{min} or more")
                    : string.Create(CultureInfo.InvariantCulture, $"{min}–{max}"));
            case ConfigKeyKind.Boolean:
                return "`true`, `false`";
            case ConfigKeyKind.Duration:
                return $"duration with a unit (`30s`, `1m30s`, `500ms`), more than 0, at most `{d.MaxDuration}`";
            case ConfigKeyKind.Tls:
                return "PEM files";
            case ConfigKeyKind.Credentials:
                return "`username` + `password` (basic), or `bearerToken`";
            case ConfigKeyKind.Url:
                return d.Format == ConfigFormat.BaseUrl ? "`http://` or `https://` URL without a path" : "absolute `http://` or `https://` URL";
            case ConfigKeyKind.TextMap:
                return d.Format == ConfigFormat.HeaderName ? "map of header → value" : $"map of {d.Unit ?? "name"} → value";
            case ConfigKeyKind.Secret:
                return TextType(d) + " (`${ENV}` allowed)";
            case ConfigKeyKind.IntegerDuration:
                var timeUnit = d.TimeUnit == ConfigTimeUnit.Seconds ? "seconds" : "milliseconds";
                return string.Create(CultureInfo.InvariantCulture, $"{timeUnit}, {d.Min}–{d.Max}");
            case ConfigKeyKind.Outputs:
                // The output registry's names, so a new output type shows here without an edit.
                return $"list of `{{name, type, …}}`; `type`: {string.Join(", ", OutputTypes.Default.TypeNames.Select(t => $"`{t}`"))}";
            default:
                throw new InvalidOperationException($"{key.Path}: no docs for kind {key.Kind}");
        }
    }

    private static string TextType(ConfigKeyAttribute d) => d.Format switch
    {
        ConfigFormat.Address => "`HOST:PORT`",
        ConfigFormat.Timezone => "`UTC`, an offset (`+02:00`) or an IANA zone id",
        ConfigFormat.IndexPattern => "Logstash index pattern (`%{+YYYY.MM.dd}`)",
        ConfigFormat.ExistingFile => d.Unit ?? "file",
        ConfigFormat.PemCertificates => d.Unit ?? "PEM file",
        ConfigFormat.NonEmpty => d.Unit ?? "non-empty string",
        ConfigFormat.AwsName => d.Unit ?? "lower-case letters, digits, `-`",
        ConfigFormat.AwsRegion => "AWS region (`eu-central-1`)",
        ConfigFormat.TableName => "3–256 of `[a-zA-Z0-9_.-]`",
        _ => d.Unit ?? "string",
    };

    private static string DefaultCell(ConfigKey key)
    {
        var d = key.Declaration;
        if (d.DefaultText is { } text)
        {
            return text;
        }

        if (d.DefaultInSection is { } inSection)
        {
            var parent = key.Path[..key.Path.LastIndexOf('.')];
            return $"`{inSection}` (with `{parent}`)";
        }

        if (key.Kind == ConfigKeyKind.IntegerDuration && key.DefaultValue is TimeSpan span)
        {
            var count = d.TimeUnit == ConfigTimeUnit.Seconds ? span.TotalSeconds : span.TotalMilliseconds;
            return count.ToString(CultureInfo.InvariantCulture);
        }

        return key.DefaultValue switch
        {
            string s => $"`{s}`",
            Enum e => $"`{ConfigEnum.Spell(e)}`",
            List<string> { Count: 0 } => "none",
            IReadOnlyDictionary<string, string> { Count: 0 } => "none",
            List<string> items => string.Join(", ", items.Select(i => $"`{i}`")),
            bool b => b ? "true" : "false",
            int i => i.ToString(CultureInfo.InvariantCulture),
            long l => l.ToString(CultureInfo.InvariantCulture),
            TimeSpan t => $"`{Duration(t)}`",
            null => throw new InvalidOperationException($"{key.Path}: a key without a default needs DefaultText"),
            var other => throw new InvalidOperationException($"{key.Path}: no docs for a default of type {other.GetType().Name}"),
        };
    }

    /// <summary>A duration in the file's syntax, largest units first: <c>2m</c>, <c>1m30s</c>, <c>500ms</c>.</summary>
    internal static string Duration(TimeSpan t)
    {
        var sb = new StringBuilder();
        void Part(long value, string unit)
        {
            if (value > 0)
            {
                sb.Append(value.ToString(CultureInfo.InvariantCulture)).Append(unit);
            }
        }

        Part((long)t.TotalDays, "d");
        Part(t.Hours, "h");
        Part(t.Minutes, "m");
        Part(t.Seconds, "s");
        Part(t.Milliseconds, "ms");
        return sb.Length == 0 ? "0s" : sb.ToString();
    }

    /// <summary>A table cell: pipes would end it, line breaks would end the row.</summary>
    private static string Cell(string text) =>
        text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
