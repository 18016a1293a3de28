using System.Text.Json.Nodes;
using Flotel.Gateway.Hosting;
using Flotel.Pipeline.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Hosting;

public sealed class UnhandledErrorsTests
{
    [Theory]
    [InlineData("/api/v1/query", "prometheus")]
    [InlineData("/logstash-x/_search", "elasticsearch")]
    public async Task AnEscapedException_Is500WithTheApisJsonError_AndCounted(string path, string shape)
    {
        var registry = new MetricsRegistry();
        var errors = new UnhandledErrors(new CapturingLogger(), registry, new FakeTimeProvider());
        var context = NewContext(path);

        await errors.InvokeAsync(context, () => throw new InvalidOperationException("broken invariant"));

        Assert.Equal(500, context.Response.StatusCode);
        var body = JsonNode.Parse(Body(context))!;
        if (shape == "prometheus")
        {
            Assert.Equal("error", body["status"]!.GetValue<string>());
            Assert.Equal("internal", body["errorType"]!.GetValue<string>());
        }
        else
        {
            Assert.Equal(500, body["status"]!.GetValue<int>());
            Assert.Contains("broken invariant", body["error"]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.Contains("flotel_http_internal_errors_total 1", registry.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheStackTrace_IsLoggedOncePerCause_RepeatsAreThrottledWithoutIt()
    {
        var logger = new CapturingLogger();
        var time = new FakeTimeProvider();
        var errors = new UnhandledErrors(logger, new MetricsRegistry(), time);

        Func<Task> sameCause = () => throw new InvalidOperationException("same cause");
        for (var i = 0; i < 100; i++)
        {
            await errors.InvokeAsync(NewContext("/_search"), sameCause);
        }

        await errors.InvokeAsync(NewContext("/_search"), () => throw new FormatException("another cause"));

        Assert.Equal(2, logger.Entries.Count(e => e.Exception is not null));
        Assert.Single(logger.Entries, e => e.Exception is null);
        time.Advance(TimeSpan.FromSeconds(11));
        await errors.InvokeAsync(NewContext("/_search"), sameCause);
        Assert.Contains(logger.Entries, e => e.Exception is null && e.Text.Contains("98 more not logged", StringComparison.Ordinal));
        Assert.Equal(2, logger.Entries.Count(e => e.Exception is not null));
    }

    [Fact]
    public async Task ABodyOverTheListenersLimit_IsTheStatusKestrelChose_NotAnInternalError()
    {
        var registry = new MetricsRegistry();
        var errors = new UnhandledErrors(new CapturingLogger(), registry, new FakeTimeProvider());
        var context = NewContext("/_search");

        await errors.InvokeAsync(context, () => throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge));

        Assert.Equal(413, context.Response.StatusCode);
        Assert.Equal("content_too_long_exception", JsonNode.Parse(Body(context))!["error"]!["type"]!.GetValue<string>());
        Assert.Contains("flotel_http_internal_errors_total 0", registry.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClientThatWentAway_IsNotAnError()
    {
        var registry = new MetricsRegistry();
        var logger = new CapturingLogger();
        var errors = new UnhandledErrors(logger, registry, new FakeTimeProvider());
        using var gone = new CancellationTokenSource();
        await gone.CancelAsync();
        var context = NewContext("/api/v1/query");
        context.RequestAborted = gone.Token;

        await errors.InvokeAsync(context, () => throw new OperationCanceledException(gone.Token));

        Assert.Empty(logger.Entries);
        Assert.Contains("flotel_http_internal_errors_total 0", registry.ToText(), StringComparison.Ordinal);
    }

    private static DefaultHttpContext NewContext(string path)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = path;
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static string Body(HttpContext context)
    {
        var stream = (MemoryStream)context.Response.Body;
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private sealed class CapturingLogger : ILogger
    {
        private readonly Lock _lock = new();
        private readonly List<(string Text, Exception? Exception)> _entries = [];

        public List<(string Text, Exception? Exception)> Entries
        {
            get
            {
                lock (_lock)
                {
                    return [.. _entries];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lock)
            {
                _entries.Add((formatter(state, exception), exception));
            }
        }
    }
}
