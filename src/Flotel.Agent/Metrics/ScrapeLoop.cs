using System.Buffers;
using System.Diagnostics;
using System.Text;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Diagnostics;
using Flotel.Wire.Exposition;
using Flotel.Wire.RemoteWrite;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Metrics;

/// <summary>
/// Scrapes one target on its interval and appends each scrape to the WAL as one record (DW <c>TargetMetric</c>,
/// docs/reference/flotta-device-worker.md §4.2, minus its one commit per sample). The first scrape runs at start (Flotta waited one interval); the
/// loop measures each scrape and sleeps only the remainder, never overlapping scrapes. A failing target is logged once
/// when it starts failing and once when it recovers; every scrape is counted.
/// </summary>
internal sealed partial class ScrapeLoop : IAsyncDisposable
{
    /// <summary>Shortest scrape timeout whatever the interval.</summary>
    private static readonly TimeSpan MinScrapeTimeout = TimeSpan.FromSeconds(5);

    private readonly ScrapeTarget _target;
    private readonly string _device;
    private readonly Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask<bool>> _append;
    private readonly MetricsRegistry? _self;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ScrapeBuilder _builder = new();
    private readonly ExpositionParser _parser = new();
    private readonly ArrayBufferWriter<byte> _record = new(16 * 1024);
    private ExpositionParser? _openMetricsParser;
    private readonly HttpScraper? _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly Counter _ok;
    private readonly Counter _failed;
    private readonly Counter _stored;
    private readonly Counter _notAllowed;
    private readonly Counter _outOfOrder;
    private readonly Counter _malformed;
    private Task? _loop;

    /// <summary>Written and read by the loop only: the target's last scrape failed.</summary>
    private bool _failing;

    /// <param name="append">Appends one WAL record durably (copying it); false when the WAL refused it (counted there).</param>
    /// <param name="registry">The registry rendered for <see cref="ScrapeTargetKind.Agent"/>; also where this loop counts.</param>
    public ScrapeLoop(
        ScrapeTarget target,
        string device,
        Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask<bool>> append,
        MetricsRegistry registry,
        TimeSpan maxTimeout,
        TimeProvider time,
        ILogger logger)
    {
        _target = target;
        _device = device;
        _append = append;
        _time = time;
        _logger = logger;
        // Flotta's 15 s scrape timeout (DW daemon.go), shortened to the interval but not below 5 s: a slow answer on a
        // busy device is better stored late than recorded as up=0 (scrapes never overlap; the next one just starts later).
        _timeout = TimeSpan.FromTicks(Math.Min(maxTimeout.Ticks, Math.Max(target.Interval.Ticks, MinScrapeTimeout.Ticks)));
        if (target.Kind == ScrapeTargetKind.Agent)
        {
            _self = registry;
        }
        else
        {
            _http = new HttpScraper();
        }

        _ok = registry.Counter(MetricsComponent.ScrapesMetric, MetricsComponent.ScrapesHelp, ("target", target.Source), ("result", "ok"));
        _failed = registry.Counter(MetricsComponent.ScrapesMetric, MetricsComponent.ScrapesHelp, ("target", target.Source), ("result", "failed"));
        _stored = SampleCounter(registry, "stored");
        _notAllowed = SampleCounter(registry, "not_allowed");
        _outOfOrder = SampleCounter(registry, "out_of_order");
        _malformed = SampleCounter(registry, "malformed");
    }

    public ScrapeTarget Target => _target;

    /// <summary>Starts the loop (once).</summary>
    public void Start() => _loop ??= Task.Run(RunAsync);

    /// <summary>Stops after the scrape in progress, if any, has been appended (at most the scrape timeout). Idempotent.</summary>
    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _http?.Dispose();
        _stop.Dispose();
    }

    /// <summary>One scrape: fetch, filter and label, encode, append. Returns false when nothing could be appended.</summary>
    internal async Task<bool> ScrapeOnceAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetUtcNow();
        var watch = Stopwatch.StartNew();
        var result = _self is not null
            ? ScrapeResult.Success(Encoding.UTF8.GetBytes(_self.ToText()), ExpositionFormat.PrometheusText)
            : await _http!.ScrapeAsync(_target.Url!, _timeout, cancellationToken).ConfigureAwait(false);
        _builder.Begin(_device, _target, started.ToUnixTimeMilliseconds());
        if (result.Ok)
        {
            var parser = result.Format == ExpositionFormat.PrometheusText ? _parser : _openMetricsParser ??= new ExpositionParser(ExpositionFormat.OpenMetrics);
            parser.Parse(result.Body.Span, _builder);
        }

        var series = _builder.Finish(result.Ok, watch.Elapsed);
        var kept = _builder.Scraped - _builder.NotAllowed - _builder.OutOfOrder;
        try
        {
            MetricsWal.Encode(series, _target.Source, _record);
        }
        catch (RemoteWriteException e)
        {
            // The parser validated names and values, so this is a bug, not input: count the scrape as failed.
            _failed.Increment();
            LogUnencodable(_logger, _target.Source, e.Message);
            return false;
        }

        // The queue copies the payload before the append completes, so the writer is free again afterwards.
        if (!await _append(_record.WrittenMemory, cancellationToken).ConfigureAwait(false))
        {
            _failed.Increment();
            return false;
        }

        (result.Ok ? _ok : _failed).Increment();
        _stored.Add(kept);
        _notAllowed.Add(_builder.NotAllowed);
        _outOfOrder.Add(_builder.OutOfOrder);
        _malformed.Add(_builder.Malformed);
        if (!result.Ok && !_failing)
        {
            _failing = true;
            LogScrapeFailing(_logger, _target.Source, _target.Url?.ToString() ?? "self", result.Error ?? "unknown");
        }
        else if (result.Ok && _failing)
        {
            _failing = false;
            LogScrapeRecovered(_logger, _target.Source);
        }

        return true;
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var started = _time.GetTimestamp();
                // Not cancelled by a stop: a scrape the target already answered is stored (bounded by the scrape timeout).
                await ScrapeOnceAsync(CancellationToken.None).ConfigureAwait(false);
                var remaining = _target.Interval - _time.GetElapsedTime(started);
                if (remaining > TimeSpan.Zero)
                {
                    await Task.Delay(remaining, _time, token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException)
        {
            // The WAL closed under a stopping agent.
        }
    }

    private Counter SampleCounter(MetricsRegistry registry, string result) =>
        registry.Counter(MetricsComponent.SamplesMetric, MetricsComponent.SamplesHelp, ("target", _target.Source), ("result", result));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Metrics target {Source} ({Url}) cannot be scraped: {Reason}; recording up=0 and retrying every interval")]
    private static partial void LogScrapeFailing(ILogger logger, string source, string url, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Metrics target {Source} is scraped again")]
    private static partial void LogScrapeRecovered(ILogger logger, string source);

    [LoggerMessage(Level = LogLevel.Error, Message = "Metrics target {Source}: a scrape could not be encoded and is lost: {Reason}")]
    private static partial void LogUnencodable(ILogger logger, string source, string reason);
}
