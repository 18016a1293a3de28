using System.Net.Http.Headers;
using System.Text;

namespace Flotel.Gateway.Outputs.InfluxDb;

/// <summary>
/// One write request: <c>POST {url}/write?db=…[&amp;rp=…]&amp;precision=ms</c> (InfluxDB 1.x HTTP API, basic auth
/// when configured) or <c>POST {url}/api/v2/write?org=…&amp;bucket=…&amp;precision=ms</c> with
/// <c>Authorization: Token …</c> (InfluxDB 2.x, 3.x and Timestream for InfluxDB), body
/// <c>text/plain; charset=utf-8</c> line protocol, optionally gzip.
/// </summary>
public sealed class InfluxDbClient
{
    private readonly HttpClient _http;
    private readonly InfluxDbOptions _options;

    public InfluxDbClient(HttpClient http, InfluxDbOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options;
        WriteUri = BuildWriteUri(options);
    }

    /// <summary>Where writes go.</summary>
    public Uri WriteUri { get; }

    /// <summary>The write URL for <paramref name="options"/>.</summary>
    public static Uri BuildWriteUri(InfluxDbOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var baseUrl = options.Http.Url.GetLeftPart(UriPartial.Path).TrimEnd('/');
        var query = new StringBuilder();
        if (options.IsV2)
        {
            query.Append("/api/v2/write?org=").Append(Uri.EscapeDataString(options.Org!)).Append("&bucket=").Append(Uri.EscapeDataString(options.Bucket!));
        }
        else
        {
            query.Append("/write?db=").Append(Uri.EscapeDataString(options.Database ?? string.Empty));
            if (options.RetentionPolicy is { } rp)
            {
                query.Append("&rp=").Append(Uri.EscapeDataString(rp));
            }
        }

        query.Append("&precision=ms");
        return new Uri(baseUrl + query);
    }

    /// <summary>Sends one encoded body; the caller disposes the response.</summary>
    public async Task<HttpResponseMessage> WriteAsync(byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, WriteUri) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
        if (_options.Gzip)
        {
            request.Content.Headers.ContentEncoding.Add("gzip");
        }

        _options.Http.ApplyTo(request);
        if (_options.Token is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Token", token.Reveal());
        }

        return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }
}
