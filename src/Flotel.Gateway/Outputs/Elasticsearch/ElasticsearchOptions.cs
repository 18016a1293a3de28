using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Wire.Manifests;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Outputs.Elasticsearch;

/// <summary>
/// <c>type: elasticsearch</c>: forwards syslog events and <c>_bulk</c> documents to Elasticsearch 7/8 or OpenSearch 1/2
/// (self-managed or AWS) with <c>_bulk</c>. Keys, declared below and tabled in docs/configuration.md ("Gateway
/// outputs"): the HTTP keys of <see cref="HttpOutputSettings"/> plus <c>index</c>, <c>gzip</c>, <c>maxDocuments</c>,
/// <c>maxBytes</c>, <c>deterministicIds</c> and <c>aws</c> (<c>region</c>, <c>service</c>, <c>profile</c>) for SigV4
/// instead of <c>auth</c>, with credentials from the AWS chain (<see cref="AwsCredentialChain"/>).
/// </summary>
public sealed class ElasticsearchOptions : OutputOptions, IReservedHeaderNames
{
    /// <summary>The <c>type:</c> value.</summary>
    public const string TypeName = "elasticsearch";

    /// <summary>AWS's limit on small OpenSearch instances (docs/reference/syslog-and-elasticsearch.md §3.5): the default byte cap.</summary>
    public const long DefaultMaxBytes = 10L * 1024 * 1024;

    /// <summary>Headers the output sets itself.</summary>
    public static readonly IReadOnlySet<string> ReservedHeaders = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "Content-Type", "Content-Encoding", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256",
    };

    private string? _awsProfile;

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <summary>URL (the cluster's base URL; <c>/_bulk</c> is appended), timeout, auth, headers, TLS, backoff.</summary>
    [ConfigSection("")]
    public HttpOutputSettings Http { get; } = new();

    /// <summary>Index pattern for syslog events (Logstash syntax); null = the gateway's <c>store.indexPattern</c>.</summary>
    [ConfigKey("index", "index of syslog events, from `@timestamp` in UTC (`logstash-%{+YYYY.MM.dd}`)",
        Format = ConfigFormat.IndexPattern, DefaultText = "`store.indexPattern`")]
    public string? Index { get; set; }

    /// <summary>Send bodies gzip-compressed (<c>Content-Encoding: gzip</c>); caps count uncompressed bytes.</summary>
    [ConfigKey("gzip", "`Content-Encoding: gzip` (fastest level); caps count uncompressed bytes")]
    public bool Gzip { get; set; }

    /// <summary>Most documents in one <c>_bulk</c> request.</summary>
    [ConfigKey("maxDocuments", "most documents per request", Min = 1, Max = 1_000_000, Unit = "documents")]
    public int MaxDocuments { get; set; } = 1000;

    /// <summary>Most uncompressed body bytes in one <c>_bulk</c> request.</summary>
    [ConfigKey("maxBytes", "most body bytes per request; 10 MiB is AWS's limit on small instances",
        Min = 1024, Max = 1L << 30, Unit = "bytes (uncompressed)")]
    public long MaxBytes { get; set; } = DefaultMaxBytes;

    /// <summary>Give syslog events a content-derived <c>_id</c>, so a resent batch does not duplicate them.</summary>
    [ConfigKey("deterministicIds", "give syslog events an `_id` derived from their queue position and content (20 URL-safe characters), "
        + "so a resent batch overwrites instead of duplicating")]
    public bool DeterministicIds { get; set; }

    /// <summary>AWS region for SigV4 signing; null = no signing.</summary>
    [ConfigKey("aws.region", "sign requests with AWS SigV4 instead of `auth` (e.g. `us-east-1`)",
        Format = ConfigFormat.AwsName, DefaultText = "none (no signing)")]
    public string? AwsRegion { get; set; }

    /// <summary>SigV4 service name: <c>es</c> (Amazon OpenSearch Service) or <c>aoss</c> (OpenSearch Serverless).</summary>
    [ConfigKey("aws.service", "SigV4 service name: `es`, or `aoss` (OpenSearch Serverless)", Format = ConfigFormat.AwsName)]
    public string AwsService { get; set; } = "es";

    /// <summary>Use only this profile of the shared AWS files; null (or empty) = the whole credential chain.</summary>
    [ConfigKey("aws.profile", "use only this profile of the shared AWS files", Unit = "profile name", DefaultText = "whole chain")]
    public string? AwsProfile
    {
        get => _awsProfile;
        set => _awsProfile = string.IsNullOrEmpty(value) ? null : value;
    }

    IReadOnlySet<string> IReservedHeaderNames.ReservedHeaderNames => ReservedHeaders;

    /// <inheritdoc />
    protected internal override void ValidateKeys(YamlFieldReader r, YamlMappingNode node, string path)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (YamlFieldReader.Get(node, "aws") is YamlMappingNode aws && YamlFieldReader.Get(aws, "region") is null)
        {
            r.Error(aws, path + ".aws.region", "`region` is required for SigV4 signing (e.g. us-east-1)");
        }

        Http.Validate(r, node, path);
        if (AwsRegion is not null && Http.Auth is not null)
        {
            r.Error(YamlFieldReader.Get(node, "aws"), path + ".aws", "set either `auth` (basic or bearer) or `aws` (SigV4), not both");
        }
    }
}
