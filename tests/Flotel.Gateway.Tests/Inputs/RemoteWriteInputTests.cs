using System.Net;
using System.Net.Http.Headers;
using Flotel.Gateway.Inputs.RemoteWrite;
using Flotel.Gateway.Queueing;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Diagnostics;
using Flotel.Wire.Queueing;
using Flotel.Wire.RemoteWrite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Gateway.Tests.Inputs;

public sealed class RemoteWriteInputTests : IAsyncLifetime
{
    private readonly ListSink _sink = new();
    private readonly MetricsRegistry _registry = new();
    private WebApplication? _app;
    private HttpClient? _client;

    private HttpClient Client => _client!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        var input = new RemoteWriteInput(_sink, new RemoteWriteLimits { MaxCompressedBytes = 64 * 1024 }, _registry, TimeProvider.System, NullLogger.Instance);
        _app.MapPost("/api/v1/write", input.HandleAsync);
        await _app.StartAsync();
        _client = new HttpClient { BaseAddress = new Uri(_app.Urls.First()) };
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task ValidBody_IsQueuedCompressed_AndAnswered204()
    {
        var body = RemoteWriteCodec.Encode(Request());

        using var response = await Client.SendAsync(Post(body));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var record = Assert.Single(_sink.Records);
        Assert.True(GatewayRecord.TryReadHeader(record, out var kind, out _, out var peer, out var offset));
        Assert.Equal(GatewayRecordKind.RemoteWrite, kind);
        Assert.Equal("127.0.0.1", peer);
        Assert.Equal(body, record[offset..]);
        Assert.Contains("flotel_remote_write_samples_total 2", _registry.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GarbageBody_Is400_AndNothingIsQueued()
    {
        using var response = await Client.SendAsync(Post([0xff, 0x01, 0x02, 0x03, 0x04]));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(_sink.Records);
        Assert.False(string.IsNullOrWhiteSpace(await response.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task SnappyBomb_Is413()
    {
        // A varint preamble declaring 1 GiB of output, followed by almost nothing.
        byte[] bomb = [0x80, 0x80, 0x80, 0x80, 0x04, 0x00];

        using var response = await Client.SendAsync(Post(bomb));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(_sink.Records);
    }

    [Fact]
    public async Task OversizedBody_Is413()
    {
        using var response = await Client.SendAsync(Post(new byte[100 * 1024]));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task WrongContentEncoding_Is415()
    {
        var request = Post(RemoteWriteCodec.Encode(Request()));
        request.Content!.Headers.ContentEncoding.Clear();
        request.Content.Headers.ContentEncoding.Add("gzip");

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task FullQueue_Is429WithRetryAfter()
    {
        var sink = new ListSink(refuseFirst: 1);
        var input = new RemoteWriteInput(sink, RemoteWriteLimits.Default, new MetricsRegistry(), TimeProvider.System, NullLogger.Instance);
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.ContentType = RemoteWriteHeaders.ContentType;
        context.Request.Headers.ContentEncoding = RemoteWriteHeaders.ContentEncoding;
        context.Request.Body = new MemoryStream(RemoteWriteCodec.Encode(Request()));
        context.Response.Body = new MemoryStream();

        await input.HandleAsync(context);

        Assert.Equal(429, context.Response.StatusCode);
        Assert.Equal("5", context.Response.Headers.RetryAfter.ToString());
        Assert.Empty(sink.Records);
    }

    [Fact]
    public async Task QueueCannotWrite_Is503WithRetryAfter_NotAnError()
    {
        var sink = new ListSink(refuseFirst: 1, writeFails: true);
        var registry = new MetricsRegistry();
        var input = new RemoteWriteInput(sink, RemoteWriteLimits.Default, registry, TimeProvider.System, NullLogger.Instance);
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.ContentType = RemoteWriteHeaders.ContentType;
        context.Request.Headers.ContentEncoding = RemoteWriteHeaders.ContentEncoding;
        context.Request.Body = new MemoryStream(RemoteWriteCodec.Encode(Request()));
        context.Response.Body = new MemoryStream();

        await input.HandleAsync(context);

        Assert.Equal(503, context.Response.StatusCode);
        Assert.Equal("5", context.Response.Headers.RetryAfter.ToString());
        Assert.Empty(sink.Records);
        Assert.Contains("flotel_remote_write_rejected_total{reason=\"write_failed\"} 1", registry.ToText(), StringComparison.Ordinal);
    }

    private static HttpRequestMessage Post(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(RemoteWriteHeaders.ContentType);
        content.Headers.ContentEncoding.Add(RemoteWriteHeaders.ContentEncoding);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/write") { Content = content };
        request.Headers.Add(RemoteWriteHeaders.VersionName, RemoteWriteHeaders.Version);
        return request;
    }

    private static WriteRequest Request() => new(
        [
            new TimeSeries(LabelSet.Of("__name__", "node_memory_Mapped_bytes", "edgedeviceid", "edge-device-1"), [new Sample(1_700_000_000_000, 42)]),
            new TimeSeries(LabelSet.Of("__name__", "up", "job", "node"), [new Sample(1_700_000_000_000, 1)]),
        ],
        []);
}
