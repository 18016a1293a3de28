using System.Globalization;
using System.Text;
using Flotel.Gateway.Configuration;
using Flotel.Wire.Manifests;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Outputs.Timestream;

/// <summary>
/// Options of a <c>type: timestream</c> output (docs/configuration.md, "Timestream output"). The blog's adapter took
/// <c>--awsRegion</c>, <c>--databaseName</c>, <c>--tableName</c>; here they are <c>region</c>, <c>database</c>,
/// <c>table</c>, all required. Credentials come from the AWS chain (<see cref="Shared.AwsCredentialChain"/>).
/// </summary>
public sealed class TimestreamOptions : OutputOptions
{
    private static readonly HashSet<string> Keys = new(StringComparer.Ordinal)
    {
        "region", "database", "table", "endpoint", "discoveryEndpoint", "profile", "memoryStoreRetentionHours",
        "magneticStoreWrites", "commonDimensions", "maxRecordsPerRequest", "timeoutSeconds",
    };

    /// <summary>The <c>type:</c> value.</summary>
    public const string TypeName = "timestream";

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <summary>AWS region, e.g. <c>eu-central-1</c>: the SigV4 scope and the discovery host. Required.</summary>
    public string Region { get; set; } = string.Empty;

    /// <summary>Timestream database. Required.</summary>
    public string Database { get; set; } = string.Empty;

    /// <summary>Timestream table. Required.</summary>
    public string Table { get; set; } = string.Empty;

    /// <summary>
    /// Fixed WriteRecords endpoint, skipping endpoint discovery (as the AWS SDKs do for a custom endpoint): VPC
    /// endpoints and tests. Default null: discover.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Where DescribeEndpoints is called. Default <c>https://ingest.timestream.REGION.amazonaws.com</c>.</summary>
    public Uri? DiscoveryEndpoint { get; set; }

    /// <summary>Use only this profile of the shared AWS files (default: the whole credential chain, <c>AWS_PROFILE</c>).</summary>
    public string? Profile { get; set; }

    /// <summary>
    /// The table's memory-store retention in hours (default 6, Timestream's default): older records are rejected by
    /// the service, so they are dead-lettered before sending. Must match the table.
    /// </summary>
    public int MemoryStoreRetentionHours { get; set; } = TimestreamLimits.DefaultMemoryStoreRetentionHours;

    /// <summary>The table accepts late records into the magnetic store: skip the retention check. Default false.</summary>
    public bool MagneticStoreWrites { get; set; }

    /// <summary>
    /// Dimensions added to every record through WriteRecords <c>CommonAttributes</c> (sent once per call, billed once).
    /// A series label of the same name is dropped from its record ("Dimensions may not overlap"). Default none.
    /// </summary>
    public IReadOnlyDictionary<string, string> CommonDimensions { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Records per WriteRecords call, 1–100 (default 100, the service maximum).</summary>
    public int MaxRecordsPerRequest { get; set; } = TimestreamLimits.MaxRecordsPerRequest;

    /// <summary>Timeout of one HTTP call, seconds (default 30).</summary>
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>The DescribeEndpoints URL in effect.</summary>
    public Uri EffectiveDiscoveryEndpoint =>
        DiscoveryEndpoint ?? new Uri(string.Create(CultureInfo.InvariantCulture, $"https://ingest.timestream.{Region}.amazonaws.com/"));

    /// <summary>Reads one <c>type: timestream</c> entry (its <see cref="OutputTypes.Reader"/>); null after an error.</summary>
    public static OutputOptions? Read(YamlFieldReader r, YamlMappingNode node, string name, string path)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(node);
        var options = new TimestreamOptions { Name = name };
        var errors = 0;
        void Error(YamlNode? at, string field, string message)
        {
            r.Error(at, path + "." + field, message);
            errors++;
        }

        foreach (var (key, _, value) in r.Entries(node, path, Keys))
        {
            var field = path + "." + key;
            switch (key)
            {
                case "region":
                    var region = r.String(value, field);
                    if (region is not null && !IsRegion(region))
                    {
                        Error(value, key, $"`region` '{region}' is not an AWS region name (e.g. eu-central-1)");
                    }
                    else
                    {
                        options.Region = region ?? string.Empty;
                    }

                    break;
                case "database" or "table":
                    var table = r.String(value, field);
                    if (table is not null && TableNameProblem(table) is { } problem)
                    {
                        Error(value, key, $"`{key}` '{table}' {problem}");
                    }
                    else if (key == "database")
                    {
                        options.Database = table ?? string.Empty;
                    }
                    else
                    {
                        options.Table = table ?? string.Empty;
                    }

                    break;
                case "endpoint" or "discoveryEndpoint":
                    var text = r.String(value, field);
                    if (text is null)
                    {
                        break;
                    }

                    if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.PathAndQuery != "/")
                    {
                        Error(value, key, $"`{key}` '{text}' is not an http(s) URL without a path (e.g. https://ingest-cell1.timestream.eu-central-1.amazonaws.com)");
                    }
                    else if (key == "endpoint")
                    {
                        options.Endpoint = uri;
                    }
                    else
                    {
                        options.DiscoveryEndpoint = uri;
                    }

                    break;
                case "profile":
                    options.Profile = r.String(value, field);
                    break;
                case "memoryStoreRetentionHours":
                    options.MemoryStoreRetentionHours = (int?)r.Integer(value, field, TimestreamLimits.MinMemoryStoreRetentionHours, TimestreamLimits.MaxMemoryStoreRetentionHours, "(Timestream's memory-store retention range)") ?? Kept(value, ref errors, options.MemoryStoreRetentionHours);
                    break;
                case "magneticStoreWrites":
                    options.MagneticStoreWrites = r.Boolean(value, field) ?? (Kept(value, ref errors, 0) == 0 && options.MagneticStoreWrites);
                    break;
                case "maxRecordsPerRequest":
                    options.MaxRecordsPerRequest = (int?)r.Integer(value, field, 1, TimestreamLimits.MaxRecordsPerRequest, "(WriteRecords takes at most 100 records)") ?? Kept(value, ref errors, options.MaxRecordsPerRequest);
                    break;
                case "timeoutSeconds":
                    options.TimeoutSeconds = (int?)r.Integer(value, field, 1, 600) ?? Kept(value, ref errors, options.TimeoutSeconds);
                    break;
                case "commonDimensions":
                    var map = r.StringMap(value, field);
                    foreach (var (dimension, dimensionValue) in map)
                    {
                        if (DimensionNameProblem(dimension) is { } bad)
                        {
                            Error(value, key, $"`commonDimensions` name '{dimension}' {bad}");
                        }
                        else if (dimensionValue.Length == 0)
                        {
                            Error(value, key, $"`commonDimensions` value of '{dimension}' is empty (Timestream needs a value)");
                        }
                    }

                    if (map.Count >= TimestreamLimits.MaxDimensions)
                    {
                        Error(value, key, $"`commonDimensions` has {map.Count} entries; a record has at most {TimestreamLimits.MaxDimensions} dimensions");
                    }

                    options.CommonDimensions = map;
                    break;
            }
        }

        foreach (var required in new[] { "region", "database", "table" })
        {
            if (YamlFieldReader.IsNull(YamlFieldReader.Get(node, required)))
            {
                Error(node, required, required == "region"
                    ? $"output '{name}' needs `region` (e.g. region: ${{AWS_REGION}})"
                    : $"output '{name}' needs `{required}` (the Timestream {required} name)");
            }
        }

        return errors == 0 ? options : null;
    }

    /// <summary>Why <paramref name="name"/> cannot be a dimension name, or null when it can.</summary>
    public static string? DimensionNameProblem(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var bytes = Encoding.UTF8.GetByteCount(name);
        if (bytes == 0)
        {
            return "is empty";
        }

        if (bytes > TimestreamLimits.MaxDimensionNameBytes)
        {
            return string.Create(CultureInfo.InvariantCulture, $"is {bytes} bytes long; Timestream allows {TimestreamLimits.MaxDimensionNameBytes}");
        }

        return TimestreamLimits.IsReservedName(name) ? "is reserved by Timestream (time, measure_value, ts_*, measure_name*)" : null;
    }

    /// <summary>The default kept after a failed integer read; counts the error the reader reported (absent is no error).</summary>
    private static int Kept(YamlNode value, ref int errors, int keep)
    {
        if (!YamlFieldReader.IsNull(value))
        {
            errors++;
        }

        return keep;
    }

    private static bool IsRegion(string region) =>
        region.Length is > 0 and <= 64 && region.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    private static string? TableNameProblem(string name)
    {
        if (name.Length < TimestreamLimits.MinTableNameBytes || name.Length > TimestreamLimits.MaxTableNameBytes)
        {
            return "must be 3–256 characters long";
        }

        return name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-') ? null : "may only contain letters, digits, '_', '.' and '-'";
    }
}
