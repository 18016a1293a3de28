using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Flotel.Gateway.Outputs;
using Flotel.Gateway.Queueing;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Flotel.Wire.Queueing;
using Flotel.Wire.RemoteWrite;
using Flotel.Wire.Syslog;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WriteRequest = Flotel.Wire.RemoteWrite.WriteRequest;

namespace Flotel.Gateway.Tests.Outputs;

/// <summary>A durable queue in a temporary directory and the <see cref="OutputContext"/> an output is created with.</summary>
internal sealed class HttpOutputFixture : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("flotel-output-");

    public HttpOutputFixture(string indexPattern = LogstashIndexPattern.Default)
    {
        Queue = DurableQueue.Open(new DurableQueueOptions { Directory = Path.Combine(Directory, "queue"), GroupCommitWindow = TimeSpan.Zero });
        Context = new OutputContext(Queue, Directory, SyslogParser.Default, indexPattern, Metrics, TimeProvider.System, NullLoggerFactory.Instance);
    }

    public string Directory => _directory.Path;

    public DurableQueue Queue { get; }

    public MetricsRegistry Metrics { get; } = new();

    public OutputContext Context { get; }

    /// <summary>Queues one remote-write body as the gateway's input does.</summary>
    public async Task AppendRemoteWriteAsync(WriteRequest request)
    {
        var record = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(record, GatewayRecordKind.RemoteWrite, 0, "127.0.0.1");
        RemoteWriteCodec.Encode(request, record);
        await Queue.AppendAsync(record.WrittenMemory);
    }

    /// <summary>Queues syslog lines as one TCP read of the syslog input.</summary>
    public async Task AppendSyslogAsync(DateTime receivedAt, string peer, params string[] lines)
    {
        var record = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(record, GatewayRecordKind.SyslogFrames, new DateTimeOffset(receivedAt, TimeSpan.Zero).ToUnixTimeMilliseconds(), peer);
        record.Write<byte>([1]);
        foreach (var line in lines)
        {
            GatewayRecord.WriteFrame(record, Encoding.UTF8.GetBytes(line));
        }

        await Queue.AppendAsync(record.WrittenMemory);
    }

    /// <summary>Queues <c>_bulk</c> documents as the gateway's bulk endpoint does.</summary>
    public async Task AppendBulkAsync(params (string Index, string Id, bool CreateOnly, string Source)[] documents)
    {
        var record = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(record, GatewayRecordKind.BulkDocuments, 0, string.Empty);
        foreach (var d in documents)
        {
            GatewayRecord.WriteDocument(record, d.Index, d.Id, d.CreateOnly, Encoding.UTF8.GetBytes(d.Source));
        }

        await Queue.AppendAsync(record.WrittenMemory);
    }

    public string DeadLetterText(string output)
    {
        var path = Context.DeadLetterPath(output);
        return File.Exists(path) ? File.ReadAllText(path) : string.Empty;
    }

    public async ValueTask DisposeAsync()
    {
        await Queue.StopAsync();
        _directory.Dispose();
    }
}

/// <summary>One request a <see cref="FakeHttpPeer"/> received; the body is gzip-decoded when it was sent gzipped.</summary>
internal sealed record ReceivedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body, byte[] RawBody)
{
    public string Header(string name) => Headers.TryGetValue(name, out var v) ? v : string.Empty;

    public string Text => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// Kestrel on 127.0.0.1 (free port, optionally HTTPS) that records every request and answers with <see cref="Respond"/>:
/// the fake peer of output tests, written from the peer's documented wire format in each test.
/// </summary>
internal sealed class FakeHttpPeer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeHttpPeer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public ConcurrentQueue<ReceivedRequest> Requests { get; } = new();

    /// <summary>Writes the response for a request (default: 204).</summary>
    public Func<ReceivedRequest, HttpResponse, Task> Respond { get; set; } = (_, response) =>
    {
        response.StatusCode = 204;
        return Task.CompletedTask;
    };

    public static async Task<FakeHttpPeer> StartAsync(X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = 256L * 1024 * 1024;
            k.Listen(System.Net.IPAddress.Loopback, 0, listen =>
            {
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
        });
        var app = builder.Build();
        FakeHttpPeer? peer = null;
        app.Run(async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var raw = buffer.ToArray();
            var body = raw;
            if (context.Request.Headers.ContentEncoding.ToString() == "gzip")
            {
                using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
                using var plain = new MemoryStream();
                await gzip.CopyToAsync(plain);
                body = plain.ToArray();
            }

            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, value) in context.Request.Headers)
            {
                headers[name] = value.ToString();
            }

            var request = new ReceivedRequest(context.Request.Method, context.Request.Path.Value ?? "/", context.Request.QueryString.Value ?? string.Empty, headers, body, raw);
            peer!.Requests.Enqueue(request);
            await peer.Respond(request, context.Response);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        peer = new FakeHttpPeer(app, new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal)));
        return peer;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
