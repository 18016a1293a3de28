using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Model;
using Flotel.Wire.Manifests;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Outputs.InfluxDb;

/// <summary>
/// <c>type: influxdb</c>: forwards samples as line protocol to InfluxDB 1.x (<c>database</c> →
/// <c>/write?db=…&amp;precision=ms</c>, optional basic <c>auth</c>) or InfluxDB 2.x/3.x and Timestream for InfluxDB
/// (<c>org</c> + <c>bucket</c> → <c>/api/v2/write?org=…&amp;bucket=…&amp;precision=ms</c>, <c>token</c> →
/// <c>Authorization: Token …</c>). Keys, declared below and tabled in docs/configuration.md ("Gateway outputs"): the
/// HTTP keys of <see cref="HttpOutputSettings"/> plus <c>database</c>, <c>retentionPolicy</c>, <c>org</c>,
/// <c>bucket</c>, <c>token</c>, <c>maxPoints</c>, <c>gzip</c>.
/// </summary>
public sealed class InfluxDbOptions : OutputOptions, IReservedHeaderNames
{
    /// <summary>The <c>type:</c> value.</summary>
    public const string TypeName = "influxdb";

    /// <summary>Headers the output sets itself.</summary>
    public static readonly IReadOnlySet<string> ReservedHeaders = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "Content-Type", "Content-Encoding" };

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <summary>Base URL (e.g. <c>http://influxdb:8086</c>; the write path is appended), timeout, auth, headers, TLS, backoff.</summary>
    [ConfigSection("")]
    public HttpOutputSettings Http { get; } = new();

    /// <summary>InfluxDB 1.x database; set this or <see cref="Org"/> and <see cref="Bucket"/>.</summary>
    [ConfigKey("database", "InfluxDB 1.x: `POST {url}/write?db=…&precision=ms`; credentials with `auth` (basic)",
        Format = ConfigFormat.NonEmpty, DefaultText = "none")]
    public string? Database { get; set; }

    /// <summary>InfluxDB 1.x retention policy (<c>rp=</c>); null = the database's default.</summary>
    [ConfigKey("retentionPolicy", "InfluxDB 1.x `rp=`", Format = ConfigFormat.NonEmpty, DefaultText = "database default")]
    public string? RetentionPolicy { get; set; }

    /// <summary>InfluxDB 2.x/3.x organization.</summary>
    [ConfigKey("org", "InfluxDB 2.x/3.x: `POST {url}/api/v2/write?org=…&bucket=…&precision=ms`", Format = ConfigFormat.NonEmpty, DefaultText = "none")]
    public string? Org { get; set; }

    /// <summary>InfluxDB 2.x/3.x bucket.</summary>
    [ConfigKey("bucket", "InfluxDB 2.x/3.x bucket (with `org`)", Format = ConfigFormat.NonEmpty, DefaultText = "none")]
    public string? Bucket { get; set; }

    /// <summary>InfluxDB 2.x/3.x API token (<c>Authorization: Token …</c>).</summary>
    [ConfigKey("token", "2.x/3.x `Authorization: Token …`", Format = ConfigFormat.NonEmpty, DefaultText = "none")]
    public SecretValue? Token { get; set; }

    /// <summary>Most points (lines) in one request; InfluxData recommends batches of 5,000 lines.</summary>
    [ConfigKey("maxPoints", "most points per request (InfluxData's recommended batch)", Min = 1, Max = 1_000_000, Unit = "points (lines)")]
    public int MaxPoints { get; set; } = 5000;

    /// <summary>Send bodies gzip-compressed (<c>Content-Encoding: gzip</c>, accepted by 1.x and 2.x).</summary>
    [ConfigKey("gzip", "`Content-Encoding: gzip`")]
    public bool Gzip { get; set; }

    /// <summary>True for the 2.x/3.x write API.</summary>
    public bool IsV2 => Bucket is not null;

    IReadOnlySet<string> IReservedHeaderNames.ReservedHeaderNames => ReservedHeaders;

    /// <inheritdoc />
    protected internal override void ValidateKeys(YamlFieldReader r, YamlMappingNode node, string path)
    {
        Http.Validate(r, node, path);
        Validate(r, node, path, this);
    }

    private static void Validate(YamlFieldReader r, YamlMappingNode entry, string path, InfluxDbOptions options)
    {
        var node = HttpOutputSettings.Anchor(entry);
        var v1 = options.Database is not null || options.RetentionPolicy is not null;
        var v2 = options.Org is not null || options.Bucket is not null || options.Token is not null;
        if (v1 == v2)
        {
            r.Error(node, path, "set `database` (InfluxDB 1.x) or `org` and `bucket` (InfluxDB 2.x/3.x, with `token`), not both");
        }
        else if (v1 && options.Database is null)
        {
            r.Error(node, path + ".database", "`database` is required with `retentionPolicy`");
        }
        else if (v2 && (options.Org is null || options.Bucket is null))
        {
            r.Error(node, path + (options.Org is null ? ".org" : ".bucket"), "`org` and `bucket` are both required for the InfluxDB 2.x/3.x write API");
        }

        if (v2 && options.Http.Auth is not null)
        {
            r.Error(YamlFieldReader.Get(entry, "auth"), path + ".auth", "use `token` for InfluxDB 2.x/3.x; `auth` is for 1.x");
        }
    }
}
