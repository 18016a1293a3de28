using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Flotel.Cli.Commands;

/// <summary>
/// The HTTP client of <c>flotel logs</c>, <c>flotel metrics</c> and the fleet commands: credentials from the URL's user
/// info (<c>http://user:pass@host:9201</c>, basic auth) or from a bearer token variable (<c>FLOTEL_TOKEN</c>;
/// <c>FLOTEL_ADMIN_TOKEN</c> for the fleet admin API), a clear message for every failure (unreachable, 401, the
/// gateway's own error text and diagnostics).
/// </summary>
internal sealed class GatewayClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _tokenVariable;
    private readonly string _urlOption;

    /// <param name="url">The gateway, optionally with user info for basic auth.</param>
    /// <param name="tokenVariable">The environment variable holding a bearer token.</param>
    /// <param name="urlOption">The option that names the gateway, for messages.</param>
    public GatewayClient(Uri url, string tokenVariable = "FLOTEL_TOKEN", string urlOption = "--url")
    {
        _tokenVariable = tokenVariable;
        _urlOption = urlOption;
        var builder = new UriBuilder(url) { UserName = string.Empty, Password = string.Empty };
        _http = new HttpClient { BaseAddress = builder.Uri, Timeout = TimeSpan.FromSeconds(30) };
        if (!string.IsNullOrEmpty(url.UserInfo))
        {
            var token = Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(url.UserInfo)));
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", token);
        }
        else if (Environment.GetEnvironmentVariable(tokenVariable) is { Length: > 0 } bearer)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        Display = builder.Uri.ToString().TrimEnd('/');
    }

    /// <summary>The gateway URL without credentials, for messages.</summary>
    public string Display { get; }

    /// <summary>Sends and parses a JSON answer; throws <see cref="GatewayClientException"/> with a message for the user.</summary>
    public async Task<JsonDocument> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new GatewayClientException($"cannot reach the gateway at {Display}: {e.Message} (is `flotel gateway` or `flotel up` running? see {_urlOption})");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new GatewayClientException($"the gateway at {Display} did not answer within 30 s");
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized)
            {
                throw new GatewayClientException($"the gateway at {Display} wants credentials (HTTP 401): put them in the URL ({_urlOption} http://USER:PASS@HOST:PORT) or set {_tokenVariable}");
            }

            JsonDocument json;
            try
            {
                json = JsonDocument.Parse(body);
            }
            catch (JsonException)
            {
                throw new GatewayClientException($"the gateway answered HTTP {(int)response.StatusCode} without JSON: {Truncate(body)}");
            }

            if (!response.IsSuccessStatusCode)
            {
                using (json)
                {
                    throw new GatewayClientException($"the gateway answered HTTP {(int)response.StatusCode}: {ErrorText(json.RootElement) ?? Truncate(body)}");
                }
            }

            return json;
        }
    }

    public void Dispose() => _http.Dispose();

    private static string? ErrorText(JsonElement root)
    {
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error))
        {
            if (error.ValueKind == JsonValueKind.String && root.TryGetProperty("diagnostics", out var diagnostics) && diagnostics.ValueKind == JsonValueKind.Array)
            {
                // The fleet admin API: one FILE:LINE: field: message per problem.
                return error.GetString() + Environment.NewLine + string.Join(Environment.NewLine, diagnostics.EnumerateArray().Select(d => d.ToString()));
            }

            if (error.ValueKind == JsonValueKind.String)
            {
                return error.GetString(); // Prometheus API, fleet API
            }

            if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("reason", out var reason))
            {
                return reason.GetString(); // Elasticsearch API
            }
        }

        return null;
    }

    private static string Truncate(string text) => text.Length > 300 ? text[..300] + "…" : text;
}

/// <summary>A failure of <see cref="GatewayClient"/>, worded for the user.</summary>
internal sealed class GatewayClientException : Exception
{
    public GatewayClientException(string message)
        : base(message)
    {
    }

    public GatewayClientException()
    {
    }

    public GatewayClientException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
