using System.Collections.Concurrent;
using System.Globalization;
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
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public MetricsTestExporter(string path, string body, string contentType = "text/plain; version=0.0.4; charset=utf-8")
    {
        Path = path;
        Body = body;
        ContentType = contentType;
        Port = Loopback.FreePort();
        _listener.Prefixes.Add("http://127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture) + "/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string Path { get; }

    public string Body { get; set; }

    public string ContentType { get; }

    /// <summary>Path and Accept-Encoding of every request.</summary>
    public ConcurrentQueue<(string Path, string? AcceptEncoding, string? Accept)> Hits { get; } = new();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var path = context.Request.Url?.AbsolutePath ?? string.Empty;
            var acceptEncoding = context.Request.Headers["Accept-Encoding"];
            Hits.Enqueue((path, acceptEncoding, context.Request.Headers["Accept"]));
            if (path != Path)
            {
                context.Response.StatusCode = 404;
                context.Response.Close();
                continue;
            }

            var bytes = Encoding.UTF8.GetBytes(Body);
            context.Response.ContentType = ContentType;
            if (acceptEncoding?.Contains("gzip", StringComparison.OrdinalIgnoreCase) == true)
            {
                using var compressed = new MemoryStream();
                using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
                {
                    gzip.Write(bytes);
                }

                bytes = compressed.ToArray();
                context.Response.AddHeader("Content-Encoding", "gzip");
            }

            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }
}
