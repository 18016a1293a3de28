using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Wire.Manifests;
using Flotel.Wire.Syslog;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Outputs.Elasticsearch;

/// <summary>
/// <c>type: elasticsearch</c>: forwards syslog events and <c>_bulk</c> documents to Elasticsearch 7/8 or OpenSearch 1/2
/// (self-managed or AWS) with <c>_bulk</c>. Keys (docs/configuration.md, "Gateway outputs"): the HTTP keys of
/// <see cref="HttpOutputSettings"/> plus <c>index</c>, <c>gzip</c>, <c>maxDocuments</c>, <c>maxBytes</c>,
/// <c>deterministicIds</c> and <c>aws</c> (<c>region</c>, <c>service</c>, <c>profile</c>) for SigV4 instead of <c>auth</c>,
/// with credentials from the AWS chain (<see cref="AwsCredentialChain"/>).
/// </summary>
public sealed class ElasticsearchOptions : OutputOptions
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

    private static readonly HashSet<string> Keys = new(HttpOutputSettings.Keys, StringComparer.Ordinal)
    {
        "index", "gzip", "maxDocuments", "maxBytes", "deterministicIds", "aws",
    };

    private static readonly HashSet<string> AwsKeys = new(StringComparer.Ordinal) { "region", "service", "profile" };

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <summary>URL (the cluster's base URL; <c>/_bulk</c> is appended), timeout, auth, headers, TLS, backoff.</summary>
    public HttpOutputSettings Http { get; } = new();

    /// <summary>Index pattern for syslog events (Logstash syntax); null = the gateway's <c>store.indexPattern</c>.</summary>
    public string? Index { get; set; }

    /// <summary>Send bodies gzip-compressed (<c>Content-Encoding: gzip</c>); caps count uncompressed bytes.</summary>
    public bool Gzip { get; set; }

    /// <summary>Most documents in one <c>_bulk</c> request.</summary>
    public int MaxDocuments { get; set; } = 1000;

    /// <summary>Most uncompressed body bytes in one <c>_bulk</c> request.</summary>
    public long MaxBytes { get; set; } = DefaultMaxBytes;

    /// <summary>Give syslog events a content-derived <c>_id</c>, so a resent batch does not duplicate them.</summary>
    public bool DeterministicIds { get; set; }

    /// <summary>AWS region for SigV4 signing; null = no signing.</summary>
    public string? AwsRegion { get; set; }

    /// <summary>SigV4 service name: <c>es</c> (Amazon OpenSearch Service) or <c>aoss</c> (OpenSearch Serverless).</summary>
    public string AwsService { get; set; } = "es";

    /// <summary>Use only this profile of the shared AWS files; null = the whole credential chain.</summary>
    public string? AwsProfile { get; set; }

    /// <summary>Reads one <c>outputs[]</c> entry (see <see cref="OutputTypes.Reader"/>).</summary>
    public static ElasticsearchOptions? Read(YamlFieldReader r, YamlMappingNode node, string name, string path)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(node);
        var options = new ElasticsearchOptions { Name = name };
        foreach (var (key, _, value) in r.Entries(node, path, Keys))
        {
            if (options.Http.TryRead(r, key, value, path, ReservedHeaders))
            {
                continue;
            }

            var at = path + "." + key;
            switch (key)
            {
                case "index":
                    if (r.String(value, at) is { } pattern)
                    {
                        if (LogstashIndexPattern.TryParse(pattern, out _, out var error))
                        {
                            options.Index = pattern;
                        }
                        else
                        {
                            r.Error(value, at, "`index` is not an index pattern: " + error);
                        }
                    }

                    break;
                case "gzip":
                    options.Gzip = r.Boolean(value, at) ?? options.Gzip;
                    break;
                case "maxDocuments":
                    options.MaxDocuments = (int?)r.Integer(value, at, 1, 1_000_000) ?? options.MaxDocuments;
                    break;
                case "maxBytes":
                    options.MaxBytes = r.Integer(value, at, 1024, 1L << 30) ?? options.MaxBytes;
                    break;
                case "deterministicIds":
                    options.DeterministicIds = r.Boolean(value, at) ?? options.DeterministicIds;
                    break;
                case "aws":
                    ReadAws(r, value, at, options);
                    break;
            }
        }

        options.Http.Validate(r, node, path);
        if (options.AwsRegion is not null && options.Http.Auth is not null)
        {
            r.Error(YamlFieldReader.Get(node, "aws"), path + ".aws", "set either `auth` (basic or bearer) or `aws` (SigV4), not both");
        }

        return options;
    }

    private static void ReadAws(YamlFieldReader r, YamlNode value, string at, ElasticsearchOptions options)
    {
        if (r.Mapping(value, at) is not { } aws)
        {
            return;
        }

        foreach (var (k, _, v) in r.Entries(aws, at, AwsKeys))
        {
            var text = r.String(v, at + "." + k);
            if (text is null)
            {
                continue;
            }

            if (k == "profile")
            {
                options.AwsProfile = text.Length > 0 ? text : null;
                continue;
            }

            if (text.Length == 0 || !text.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            {
                r.Error(v, at + "." + k, $"`{k}` must be lower-case letters, digits and '-', got '{text}'");
            }
            else if (k == "region")
            {
                options.AwsRegion = text;
            }
            else
            {
                options.AwsService = text;
            }
        }

        if (YamlFieldReader.Get(aws, "region") is null)
        {
            r.Error(aws, at + ".region", "`region` is required for SigV4 signing (e.g. us-east-1)");
        }
    }
}
