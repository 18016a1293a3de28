using System.Net;
using System.Net.Http.Headers;
using Flotel.Gateway.Inputs;
using Flotel.Gateway.Inputs.RemoteWrite;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Pipeline.Diagnostics;
using Flotel.Store.Tests.Logs;
using Flotel.Wire.RemoteWrite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Inputs;

public sealed class WarningThrottleTests
{
    [Fact]
    public void TryAcquire_RepeatedWithinTheInterval_OneThroughThenCountedUntilTheIntervalPasses()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var throttle = new WarningThrottle(clock, TimeSpan.FromSeconds(10));

        Assert.True(throttle.TryAcquire(out var first));
        Assert.Equal(0, first);
        for (var i = 0; i < 3; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(3));
            Assert.False(throttle.TryAcquire(out _));
        }

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(throttle.TryAcquire(out var held));
        Assert.Equal(3, held);
        Assert.False(throttle.TryAcquire(out _));
    }

    [Fact]
    public async Task RemoteWriteInput_SameBadRequestFiveTimes_OneWarningThenOneWithTheCountAfterTheInterval()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var logger = new CapturingLogger();
        var registry = new MetricsRegistry();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        var input = new RemoteWriteInput(new ListSink(), new RemoteWriteLimits(), registry, clock, logger);
        app.MapPost("/api/v1/write", input.HandleAsync);
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        for (var i = 0; i < 5; i++)
        {
            using var response = await client.SendAsync(Garbage());
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.Single(logger.Warnings);
        clock.Advance(WarningThrottle.DefaultInterval);
        using (var response = await client.SendAsync(Garbage()))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.Equal(2, logger.Warnings.Count);
        Assert.Contains("(4 more rejections not logged", logger.Warnings[1], StringComparison.Ordinal);
        Assert.Contains("flotel_remote_write_rejected_total{reason=\"InvalidSnappy\"} 6", registry.ToText(), StringComparison.Ordinal);
    }

    private static HttpRequestMessage Garbage()
    {
        var content = new ByteArrayContent([0xff, 0x01, 0x02, 0x03, 0x04]);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(RemoteWriteHeaders.ContentType);
        content.Headers.ContentEncoding.Add(RemoteWriteHeaders.ContentEncoding);
        return new HttpRequestMessage(HttpMethod.Post, "/api/v1/write") { Content = content };
    }

    /// <summary>Keeps the text of every warning.</summary>
    private sealed class CapturingLogger : ILogger
    {
        private readonly Lock _lock = new();
        private readonly List<string> _warnings = [];

        public List<string> Warnings
        {
            get
            {
                lock (_lock)
                {
                    return [.. _warnings];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                lock (_lock)
                {
                    _warnings.Add(formatter(state, exception));
                }
            }
        }
    }
}
