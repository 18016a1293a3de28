using System.Globalization;
using System.Text;
using Flotel.Gateway.Configuration;
using Flotel.Wire.Manifests;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Outputs.Timestream;

/// <summary>
/// Options of a <c>type: timestream</c> output, declared below and tabled in docs/configuration.md ("Timestream output").
/// The blog's adapter took <c>--awsRegion</c>, <c>--databaseName</c>, <c>--tableName</c>; here they are <c>region</c>,
/// <c>database</c>, <c>table</c>, all required. Credentials come from the AWS chain (<see cref="Shared.AwsCredentialChain"/>).
/// </summary>
public sealed class TimestreamOptions : OutputOptions
{
    /// <summary>The <c>type:</c> value.</summary>
    public const string TypeName = "timestream";

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <summary>AWS region, e.g. <c>eu-central-1</c>: the SigV4 scope and the discovery host. Required.</summary>
    [ConfigKey("region", "SigV4 scope (service `timestream`) and discovery host", Format = ConfigFormat.AwsRegion, DefaultText = "required")]
    public string Region { get; set; } = string.Empty;

    /// <summary>Timestream database. Required.</summary>
    [ConfigKey("database", "the Timestream database", Format = ConfigFormat.TableName, DefaultText = "required")]
    public string Database { get; set; } = string.Empty;

    /// <summary>Timestream table. Required.</summary>
    [ConfigKey("table", "the Timestream table", Format = ConfigFormat.TableName, DefaultText = "required")]
    public string Table { get; set; } = string.Empty;

    /// <summary>
    /// Fixed WriteRecords endpoint, skipping endpoint discovery (as the AWS SDKs do for a custom endpoint): VPC
    /// endpoints and tests. Default null: discover.
    /// </summary>
    [ConfigKey("endpoint", "fixed WriteRecords URL (VPC endpoint); skips endpoint discovery, as the AWS SDKs do",
        Format = ConfigFormat.BaseUrl, DefaultText = "discover")]
    public Uri? Endpoint { get; set; }

    /// <summary>Where DescribeEndpoints is called. Default <c>https://ingest.timestream.REGION.amazonaws.com</c>.</summary>
    [ConfigKey("discoveryEndpoint", "where `DescribeEndpoints` is called", Format = ConfigFormat.BaseUrl,
        DefaultText = "`https://ingest.timestream.REGION.amazonaws.com`")]
    public Uri? DiscoveryEndpoint { get; set; }

    /// <summary>Use only this profile of the shared AWS files (default: the whole credential chain, <c>AWS_PROFILE</c>).</summary>
    [ConfigKey("profile", "use only this profile of the shared AWS files", Unit = "profile name", DefaultText = "the whole chain")]
    public string? Profile { get; set; }

    /// <summary>
    /// The table's memory-store retention in hours (default 6, Timestream's default): older records are rejected by
    /// the service, so they are dead-lettered before sending. Must match the table.
    /// </summary>
    [ConfigKey("memoryStoreRetentionHours", "the table's memory-store retention; older records are dead-lettered before sending",
        Min = TimestreamLimits.MinMemoryStoreRetentionHours, Max = TimestreamLimits.MaxMemoryStoreRetentionHours,
        RangeHint = "(Timestream's memory-store retention range)", Unit = "hours")]
    public int MemoryStoreRetentionHours { get; set; } = TimestreamLimits.DefaultMemoryStoreRetentionHours;

    /// <summary>The table accepts late records into the magnetic store: skip the retention check. Default false.</summary>
    [ConfigKey("magneticStoreWrites", "the table takes late records: no retention check")]
    public bool MagneticStoreWrites { get; set; }

    /// <summary>
    /// Dimensions added to every record through WriteRecords <c>CommonAttributes</c> (sent once per call, billed once).
    /// A series label of the same name is dropped from its record ("Dimensions may not overlap"). Default none.
    /// </summary>
    [ConfigKey("commonDimensions", "dimensions added to every record through `CommonAttributes` (sent once per call); "
        + "a series label of the same name is left out; names of at most 60 bytes, not reserved (`time`, `measure_value`, "
        + "`ts_*`, `measure_name*`), values not empty, fewer than 128", Unit = "dimension")]
    public IReadOnlyDictionary<string, string> CommonDimensions { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Records per WriteRecords call, 1–100 (default 100, the service maximum).</summary>
    [ConfigKey("maxRecordsPerRequest", "records per WriteRecords call", Min = 1, Max = TimestreamLimits.MaxRecordsPerRequest,
        RangeHint = "(WriteRecords takes at most 100 records)", Unit = "records")]
    public int MaxRecordsPerRequest { get; set; } = TimestreamLimits.MaxRecordsPerRequest;

    /// <summary>Timeout of one HTTP call, seconds (default 30).</summary>
    [ConfigKey("timeoutSeconds", "timeout of one HTTP call", Min = 1, Max = 600, Unit = "seconds")]
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>The DescribeEndpoints URL in effect.</summary>
    public Uri EffectiveDiscoveryEndpoint =>
        DiscoveryEndpoint ?? new Uri(string.Create(CultureInfo.InvariantCulture, $"https://ingest.timestream.{Region}.amazonaws.com/"));

    /// <inheritdoc />
    protected internal override void ValidateKeys(YamlFieldReader r, YamlMappingNode node, string path)
    {
        ArgumentNullException.ThrowIfNull(r);
        var dimensions = YamlFieldReader.Get(node, "commonDimensions");
        var field = path + ".commonDimensions";
        foreach (var (dimension, value) in CommonDimensions)
        {
            if (DimensionNameProblem(dimension) is { } bad)
            {
                r.Error(dimensions, field, $"`commonDimensions` name '{dimension}' {bad}");
            }
            else if (value.Length == 0)
            {
                r.Error(dimensions, field, $"`commonDimensions` value of '{dimension}' is empty (Timestream needs a value)");
            }
        }

        if (CommonDimensions.Count >= TimestreamLimits.MaxDimensions)
        {
            r.Error(dimensions, field,
                $"`commonDimensions` has {CommonDimensions.Count} entries; a record has at most {TimestreamLimits.MaxDimensions} dimensions");
        }

        foreach (var required in new[] { "region", "database", "table" })
        {
            if (YamlFieldReader.IsNull(YamlFieldReader.Get(node, required)))
            {
                r.Error(node, path + "." + required, required == "region"
                    ? $"output '{Name}' needs `region` (e.g. region: ${{AWS_REGION}})"
                    : $"output '{Name}' needs `{required}` (the Timestream {required} name)");
            }
        }
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
}
