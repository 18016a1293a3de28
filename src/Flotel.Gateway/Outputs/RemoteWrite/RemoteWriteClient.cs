using System.Net.Http.Headers;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Gateway.Outputs.RemoteWrite;

/// <summary>
/// One remote-write request (remote-write spec 1.0): <c>POST</c> to the configured URL with
/// <c>Content-Encoding: snappy</c>, <c>Content-Type: application/x-protobuf</c>,
/// <c>X-Prometheus-Remote-Write-Version: 0.1.0</c> and a <c>User-Agent</c> naming the sender, plus the configured
/// credentials and headers.
/// </summary>
public sealed class RemoteWriteClient
{
    /// <summary>The <c>User-Agent</c> the spec asks senders to send.</summary>
    public static readonly ProductInfoHeaderValue UserAgent = new("flotel-gateway", typeof(RemoteWriteClient).Assembly.GetName().Version?.ToString(3) ?? "0");

    private readonly HttpClient _http;
    private readonly HttpOutputSettings _settings;

    public RemoteWriteClient(HttpClient http, HttpOutputSettings settings)
    {
        _http = http;
        _settings = settings;
    }

    /// <summary>Sends <paramref name="body"/> (snappy-compressed protobuf); the caller disposes the response.</summary>
    public async Task<HttpResponseMessage> SendAsync(byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _settings.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(RemoteWriteHeaders.ContentType);
        request.Content.Headers.ContentEncoding.Add(RemoteWriteHeaders.ContentEncoding);
        request.Headers.Add(RemoteWriteHeaders.VersionName, RemoteWriteHeaders.Version);
        request.Headers.UserAgent.Add(UserAgent);
        _settings.ApplyTo(request);
        return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }
}
