using System.Collections.Concurrent;
using System.Globalization;

namespace Flotel.IntegrationTests;

/// <summary>A remote-write receiver that only records what it is sent (on 127.0.0.1) and answers 204.</summary>
public sealed class CaptureReceiver : IDisposable
{
    private readonly LocalHttpServer _server;

    /// <summary>One captured request.</summary>
    public sealed record Request(string Method, string Path, string? ContentType, string? ContentEncoding, string? Version, byte[] Body);

    /// <summary>Starts listening on a free port.</summary>
    public CaptureReceiver() => _server = new LocalHttpServer((request, body, response) =>
    {
        Requests.Enqueue(new Request(
            request.HttpMethod,
            request.Url?.AbsolutePath ?? string.Empty,
            request.ContentType,
            request.Headers["Content-Encoding"],
            request.Headers["X-Prometheus-Remote-Write-Version"],
            body));
        response.StatusCode = 204;
        return Task.CompletedTask;
    });

    /// <summary>The listening port.</summary>
    public int Port => _server.Port;

    /// <summary>The remote-write URL to give a sender.</summary>
    public string WriteUrl => "http://127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture) + "/api/v1/write";

    /// <summary>Requests received so far.</summary>
    public ConcurrentQueue<Request> Requests { get; } = new();

    /// <summary>Stops listening.</summary>
    public void Dispose() => _server.Dispose();
}
