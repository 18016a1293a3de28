using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Text;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// A small metrics exporter on 127.0.0.1 (the "workload in a pod" of the tests, host network): serves
/// <see cref="Body"/> at <see cref="Path"/> with the given Content-Type, gzip-compressed when the scraper accepts it;
/// counts hits and keeps the request headers it was sent.
/// </summary>
internal sealed class MetricsTestExporter : IDisposable
{
    private readonly LocalHttpServer _server;

    public MetricsTestExporter(string path, string body, string contentType = "text/plain; version=0.0.4; charset=utf-8")
    {
        Path = path;
        Body = body;
        ContentType = contentType;
        _server = new LocalHttpServer(AnswerAsync);
    }

    public int Port => _server.Port;

    public string Path { get; }

    public string Body { get; set; }

    public string ContentType { get; }

    /// <summary>Path and Accept-Encoding of every request.</summary>
    public ConcurrentQueue<(string Path, string? AcceptEncoding, string? Accept)> Hits { get; } = new();

    public void Dispose() => _server.Dispose();

    private async Task AnswerAsync(HttpListenerRequest request, byte[] requestBody, HttpListenerResponse response)
    {
        var path = request.Url?.AbsolutePath ?? string.Empty;
        var acceptEncoding = request.Headers["Accept-Encoding"];
        Hits.Enqueue((path, acceptEncoding, request.Headers["Accept"]));
        if (path != Path)
        {
            response.StatusCode = 404;
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(Body);
        response.ContentType = ContentType;
        if (acceptEncoding?.Contains("gzip", StringComparison.OrdinalIgnoreCase) == true)
        {
            using var compressed = new MemoryStream();
            using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(bytes);
            }

            bytes = compressed.ToArray();
            response.AddHeader("Content-Encoding", "gzip");
        }

        await response.OutputStream.WriteAsync(bytes);
    }
}
