using System.Net.Http.Headers;
using Flotel.Wire.Aws;

namespace Flotel.Gateway.Outputs.Elasticsearch;

/// <summary>
/// One <c>POST {url}/_bulk</c> (Elasticsearch bulk API): <c>Content-Type: application/x-ndjson</c>, optionally
/// <c>Content-Encoding: gzip</c>, basic/bearer credentials or an AWS SigV4 signature (service <c>es</c> or <c>aoss</c>), and
/// <c>filter_path=errors,items.*.error,items.*.status</c> so the answer carries only what the classifier reads
/// (Logstash 11.19+ asks the same). No product, licence or <c>_xpack</c> check is ever made (docs/reference/syslog-and-elasticsearch.md §3.5: those checks are
/// why Logstash ≥ 7.16 refuses AWS OpenSearch).
/// </summary>
public sealed class ElasticsearchClient
{
    /// <summary>The query every bulk request carries.</summary>
    public const string BulkQuery = "filter_path=errors,items.*.error,items.*.status";

    /// <summary>
    /// SigV4 for the bulk API: <c>X-Amz-Content-Sha256</c> (hex SHA-256 of the body as sent) is added and signed on
    /// every request. OpenSearch Serverless (<c>aoss</c>) refuses a request without it; Amazon OpenSearch Service
    /// (<c>es</c>) accepts it, and one signing for both keeps a domain moved to Serverless working unchanged (the
    /// OpenSearch clients' SigV4 transports send it to both as well).
    /// </summary>
    private static readonly SigV4SignerOptions SignerOptions = new() { AddContentSha256Header = true };

    private readonly HttpClient _http;
    private readonly ElasticsearchOptions _options;
    private readonly SigV4Signer? _signer;
    private readonly Func<CancellationToken, ValueTask<AwsCredentials>> _credentials;
    private readonly TimeProvider _time;

    /// <param name="http">The output's client.</param>
    /// <param name="options">URL, credentials, gzip, SigV4 region and service.</param>
    /// <param name="credentials">AWS credentials for SigV4 (asked per request, so rotated credentials are picked up).</param>
    /// <param name="time">Clock of the signature.</param>
    public ElasticsearchClient(HttpClient http, ElasticsearchOptions options, Func<CancellationToken, ValueTask<AwsCredentials>> credentials, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options;
        _credentials = credentials;
        _time = time;
        _signer = options.AwsRegion is { } region ? new SigV4Signer(region, options.AwsService, SignerOptions) : null;
        var baseUrl = options.Http.Url.GetLeftPart(UriPartial.Path);
        BulkUri = new Uri(baseUrl + (baseUrl.EndsWith('/') ? string.Empty : "/") + "_bulk?" + BulkQuery);
    }

    /// <summary>Where bulk requests go.</summary>
    public Uri BulkUri { get; }

    /// <summary>Sends one encoded bulk body; the caller disposes the response.</summary>
    public async Task<HttpResponseMessage> BulkAsync(byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, BulkUri) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        if (_options.Gzip)
        {
            request.Content.Headers.ContentEncoding.Add("gzip");
        }

        _options.Http.ApplyTo(request);
        if (_signer is not null)
        {
            // Signed last: every header above (and the body's hash) is covered by the signature.
            var credentials = await _credentials(cancellationToken).ConfigureAwait(false);
            _ = await _signer.SignAsync(request, credentials, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        }

        return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }
}
