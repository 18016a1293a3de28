using System.Net.Http.Headers;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Gateway.Outputs.RemoteWrite;

/// <summary>
/// One remote-write request (<see cref="RemoteWriteRequest"/>, shared with the agent) to the configured URL, plus the
/// configured credentials and headers.
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

    /// <summary>
    /// Sends <paramref name="body"/> (snappy-compressed protobuf); the caller disposes the response. The whole request,
    /// answer included, is bounded by the client's <see cref="HttpClient.Timeout"/> (<c>timeoutSeconds</c>); its expiry
    /// throws, and the shared driver retries it as any failure to send. The agent bounds its requests with its own token
    /// instead and answers a retry naming <c>timeoutSeconds</c>.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(byte[] body, CancellationToken cancellationToken)
    {
        using var request = RemoteWriteRequest.Create(_settings.Url, body, UserAgent);
        _settings.ApplyTo(request);
        return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }
}
