using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Flotel.Wire.Exposition;

namespace Flotel.Agent.Metrics;

/// <summary>
/// One HTTP GET of an exposition (DW <c>HTTPScraper</c>, docs/reference/flotta-device-worker.md §4.3): Flotta's <c>Accept</c> header (OpenMetrics
/// preferred, text 0.0.4 accepted), gzip, a timeout, the body capped. The format follows the answer's Content-Type.
/// One scraper per target: the body buffer is reused between scrapes.
/// </summary>
internal sealed class HttpScraper : IDisposable
{
    /// <summary>DW <c>acceptHeader</c>.</summary>
    public const string Accept = "application/openmetrics-text; version=0.0.1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    /// <summary>
    /// 16 MiB: a node_exporter body is ~100 KiB; an endpoint sending more is broken and would only fill the WAL.
    /// </summary>
    public const int MaxBodyBytes = 16 << 20;

    private readonly HttpClient _http;
    private readonly MemoryStream _body = new();
    private readonly byte[] _chunk = new byte[16 * 1024];

    public HttpScraper()
    {
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.GZip,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            UseProxy = false,
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("flotel-agent", "1.0"));
        _http.DefaultRequestHeaders.TryAddWithoutValidation("Accept", Accept);
    }

    /// <summary>GETs <paramref name="url"/> within <paramref name="timeout"/>; never throws except for cancellation of <paramref name="cancellationToken"/>.</summary>
    public async Task<ScrapeResult> ScrapeAsync(Uri url, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            // Prometheus sends the timeout so an exporter can bound its own work.
            request.Headers.TryAddWithoutValidation("X-Prometheus-Scrape-Timeout-Seconds", timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture));
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return ScrapeResult.Failure(string.Create(CultureInfo.InvariantCulture, $"server returned HTTP status {(int)response.StatusCode} {response.ReasonPhrase}"));
            }

            _body.SetLength(0);
            var stream = await response.Content.ReadAsStreamAsync(cts.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                int read;
                while ((read = await stream.ReadAsync(_chunk, cts.Token).ConfigureAwait(false)) > 0)
                {
                    if (_body.Length + read > MaxBodyBytes)
                    {
                        return ScrapeResult.Failure(string.Create(CultureInfo.InvariantCulture, $"body larger than {MaxBodyBytes} bytes"));
                    }

                    _body.Write(_chunk, 0, read);
                }
            }

            var format = ExpositionParser.FormatFromContentType(response.Content.Headers.ContentType?.ToString());
            return ScrapeResult.Success(_body.GetBuffer().AsMemory(0, (int)_body.Length), format);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ScrapeResult.Failure(string.Create(CultureInfo.InvariantCulture, $"timeout after {timeout.TotalSeconds:0.###} s"));
        }
        catch (HttpRequestException e)
        {
            return ScrapeResult.Failure(e.Message);
        }
        catch (IOException e)
        {
            return ScrapeResult.Failure(e.Message);
        }
        catch (InvalidDataException e)
        {
            // A gzip body that does not decompress.
            return ScrapeResult.Failure(e.Message);
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _body.Dispose();
    }
}
