using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Flotel.Model.Manifests;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Flotel.Wire.RemoteWrite;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Metrics;

/// <summary>
/// Sends one batch of WAL scrapes as one Prometheus remote-write 1.0 request (style rule 3: only encode, send, classify).
/// A single scrape is posted as stored; several are joined by concatenating their protobuf bodies (a repeated field:
/// the concatenation of two <c>WriteRequest</c>s is one holding both series lists) and compressing once, as long as each
/// target's scrapes follow each other in time; otherwise (a wall clock stepped back) the series are decoded and merged
/// so every series' samples are in order. The answer is classified by
/// <see cref="HttpStatusClassifier"/>: 2xx sent (logged as <c>wrote metrics range START-END</c>, the blog's check,
/// once per request); 5xx, 429, 408, timeouts and connection errors retried by the driver honouring
/// <c>Retry-After</c>; 401/403/407 retried too (<see cref="HttpStatusClassifier.CredentialStatuses"/>: the operator
/// fixes the Secret and the WAL's backlog follows, within its retention); 413 split; any other 4xx rejected with the
/// receiver's message (the driver logs it, counts it and writes the series to the dead-letter file — Flotta skipped
/// such requests silently and moved on, docs/reference/flotta-device-worker.md §4.7).
/// </summary>
internal sealed partial class RemoteWriteSender : IBatchSender<WalScrape>, IDisposable
{
    private const string CredentialsHint = "check receiverConfiguration.authSecretName and the receiver's credentials";

    /// <summary>
    /// The agent's <c>User-Agent</c>, the one its scrapes send too. The gateway's output sends <c>flotel-gateway/VERSION</c>,
    /// so a receiver's logs tell devices from the gateway.
    /// </summary>
    private static readonly ProductInfoHeaderValue UserAgent = new("flotel-agent", "1.0");

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly List<ReceiverEndpoint> _retired = [];
    private readonly ArrayBufferWriter<byte> _body = new(64 * 1024);
    private readonly Dictionary<string, long> _lastBySource = new(StringComparer.Ordinal);
    private byte[] _joined = [];
    private readonly Fleet.DeviceIdentity? _fleet;
    private ReceiverEndpoint _endpoint;

    /// <param name="fleet">The device's fleet identity, presented to the receiver (docs/fleet.md §6); null = none.</param>
    public RemoteWriteSender(MetricsReceiverPlan plan, TimeProvider time, ILogger logger, Fleet.DeviceIdentity? fleet = null)
    {
        _fleet = fleet;
        _endpoint = new ReceiverEndpoint(plan, fleet);
        _time = time;
        _logger = logger;
    }

    /// <summary>The receiver now in use.</summary>
    public ReceiverEndpoint Endpoint => Volatile.Read(ref _endpoint);

    /// <summary>
    /// Switches to a new receiver configuration without stopping delivery: the next attempt (including the retry of a
    /// batch that failed on the old URL) goes to the new one. The old client is disposed with the sender.
    /// </summary>
    public void Configure(MetricsReceiverPlan plan)
    {
        lock (_gate)
        {
            var current = _endpoint;
            if (current.Plan == plan)
            {
                return;
            }

            _retired.Add(current);
            Volatile.Write(ref _endpoint, new ReceiverEndpoint(plan, _fleet));
        }
    }

    /// <inheritdoc />
    public async ValueTask<DeliveryOutcome<WalScrape>> SendAsync(IReadOnlyList<WalScrape> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var endpoint = Endpoint;
        ReadOnlyMemory<byte> body;
        long first = long.MaxValue, last = long.MinValue;
        int samples = 0, seriesCount = 0;
        foreach (var scrape in batch)
        {
            first = Math.Min(first, scrape.FirstMs);
            last = Math.Max(last, scrape.LastMs);
            samples += scrape.Samples;
            seriesCount += scrape.Series;
        }

        try
        {
            // The driver calls one send at a time, so one body buffer serves every request.
            body = batch.Count == 1 ? batch[0].Body : InTimeOrder(batch) ? Join(batch) : MergeAndEncode(batch, out seriesCount);
        }
        catch (RemoteWriteException e)
        {
            // Cannot happen for scrapes that came out of the WAL (they were encoded once); if it does, retrying is useless.
            return DeliveryOutcome<WalScrape>.Reject("unencodable", e.Message);
        }

        // timeoutSeconds bounds the whole request including reading the answer (the client's own timeout is infinite), and
        // its expiry is a retry naming the key; the gateway's output leaves the bound to its HttpClient.Timeout instead.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(endpoint.Timeout);
        try
        {
            using var message = RemoteWriteRequest.Create(endpoint.Url, body, UserAgent);
            message.Version = endpoint.Version;
            message.VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
            using var response = await endpoint.Http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var outcome = await HttpStatusClassifier.ClassifyAsync<WalScrape>(
                response, _time.GetUtcNow(), timeout.Token, HttpStatusClassifier.CredentialStatuses, CredentialsHint).ConfigureAwait(false);
            if (outcome is DeliveryOutcome<WalScrape>.Delivered && _logger.IsEnabled(LogLevel.Information))
            {
                var start = Format(first);
                var end = Format(last);
                LogWroteRange(_logger, start, end, samples, seriesCount);
            }

            return outcome;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return DeliveryOutcome<WalScrape>.Retry(string.Create(CultureInfo.InvariantCulture, $"no answer within timeoutSeconds={endpoint.Timeout.TotalSeconds:0}"));
        }
        catch (HttpRequestException e)
        {
            return DeliveryOutcome<WalScrape>.Retry(e.Message);
        }
    }

    /// <summary>Writes one dead-lettered series (<see cref="DeadLetterJson.WriteSeries"/>).</summary>
    public static void WriteDeadLetter(Utf8JsonWriter json, TimeSeries series) => DeadLetterJson.WriteSeries(json, series);

    /// <summary>
    /// Dead letters of scrapes, one line per series as before scrapes were sent whole
    /// (<c>{"labels":{…},"samples":[…]}</c>, docs/operations.md).
    /// </summary>
    public static IDeadLetterSink<WalScrape> SeriesDeadLetters(IDeadLetterSink<TimeSeries> file) => new ScrapeDeadLetters(file);

    private sealed class ScrapeDeadLetters(IDeadLetterSink<TimeSeries> file) : IDeadLetterSink<WalScrape>
    {
        public async ValueTask<int> WriteAsync(string output, IReadOnlyList<ItemFailure<WalScrape>> failures, CancellationToken cancellationToken)
        {
            // The driver counts the scrapes at the end of the list that this returns as lost; the file loses series from
            // the end too (when full), so a scrape is lost when any of its series is. Scrapes that do not decode (cannot
            // happen for WAL records, which were encoded once) are moved to the end to be counted.
            var decoded = new List<(ItemFailure<WalScrape> Failure, IReadOnlyList<TimeSeries> Series)>(failures.Count);
            var undecodable = 0;
            foreach (var failure in failures)
            {
                try
                {
                    decoded.Add((failure, failure.Item.DecodeSeries()));
                }
                catch (RemoteWriteException)
                {
                    undecodable++;
                }
            }

            var expanded = new List<ItemFailure<TimeSeries>>();
            foreach (var (failure, series) in decoded)
            {
                foreach (var s in series)
                {
                    expanded.Add(new ItemFailure<TimeSeries>(s, failure.Code, failure.Reason, failure.Action));
                }
            }

            var lostSeries = await file.WriteAsync(output, expanded, cancellationToken).ConfigureAwait(false);
            var lost = undecodable;
            for (var i = decoded.Count - 1; i >= 0 && lostSeries > 0; i--)
            {
                lostSeries -= decoded[i].Series.Count;
                lost++;
            }

            return lost;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _endpoint.Dispose();
            foreach (var e in _retired)
            {
                e.Dispose();
            }

            _retired.Clear();
        }
    }

    /// <summary>True when no scrape of a target holds a sample older than the previous scrape's newest of that target.</summary>
    private bool InTimeOrder(IReadOnlyList<WalScrape> batch)
    {
        _lastBySource.Clear();
        foreach (var scrape in batch)
        {
            if (_lastBySource.TryGetValue(scrape.Source, out var previous) && scrape.FirstMs < previous)
            {
                return false;
            }

            _lastBySource[scrape.Source] = Math.Max(previous, scrape.LastMs);
        }

        return true;
    }

    /// <summary>Decompresses every body back to back (one protobuf <c>WriteRequest</c>) and compresses that once.</summary>
    private ReadOnlyMemory<byte> Join(IReadOnlyList<WalScrape> batch)
    {
        var total = 0;
        foreach (var scrape in batch)
        {
            total += RemoteWriteCodec.GetDecompressedLength(scrape.Body.Span);
        }

        if (_joined.Length < total)
        {
            _joined = new byte[Math.Max(total, _joined.Length * 2)];
        }

        var at = 0;
        foreach (var scrape in batch)
        {
            var length = RemoteWriteCodec.GetDecompressedLength(scrape.Body.Span);
            RemoteWriteCodec.Decompress(scrape.Body.Span, _joined.AsSpan(at, length));
            at += length;
        }

        _body.ResetWrittenCount();
        var destination = _body.GetSpan(Snappier.Snappy.GetMaxCompressedLength(total));
        _body.Advance(Snappier.Snappy.Compress(_joined.AsSpan(0, total), destination));
        return _body.WrittenMemory;
    }

    /// <summary>The slow path for scrapes out of time order: decode, <see cref="Merge"/>, encode.</summary>
    private ReadOnlyMemory<byte> MergeAndEncode(IReadOnlyList<WalScrape> batch, out int series)
    {
        var request = Merge([.. batch.SelectMany(s => s.DecodeSeries())], out _, out _, out _);
        series = request.Series.Count;
        _body.ResetWrittenCount();
        RemoteWriteCodec.Encode(request, _body);
        return _body.WrittenMemory;
    }

    /// <summary>One request for the batch: equal label sets merged, first-seen order, samples in time order per series.</summary>
    internal static WriteRequest Merge(IReadOnlyList<TimeSeries> batch, out long first, out long last, out int samples)
    {
        first = long.MaxValue;
        last = long.MinValue;
        samples = 0;
        var index = new Dictionary<LabelSet, int>(batch.Count);
        var merged = new List<(LabelSet Labels, List<Sample> Samples)>(batch.Count);
        foreach (var series in batch)
        {
            if (!index.TryGetValue(series.Labels, out var at))
            {
                at = merged.Count;
                index[series.Labels] = at;
                merged.Add((series.Labels, new List<Sample>(series.Samples.Count)));
            }

            var into = merged[at].Samples;
            foreach (var sample in series.Samples)
            {
                into.Add(sample);
                first = Math.Min(first, sample.TimestampMs);
                last = Math.Max(last, sample.TimestampMs);
                samples++;
            }
        }

        var result = new TimeSeries[merged.Count];
        for (var i = 0; i < result.Length; i++)
        {
            var list = merged[i].Samples;
            if (!IsSorted(list))
            {
                // The wall clock stepped back between scrapes: the spec wants samples in timestamp order per series.
                list.Sort(static (a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
            }

            result[i] = new TimeSeries(merged[i].Labels, list);
        }

        return new WriteRequest(result);
    }

    private static bool IsSorted(List<Sample> samples)
    {
        for (var i = 1; i < samples.Count; i++)
        {
            if (samples[i].TimestampMs < samples[i - 1].TimestampMs)
            {
                return false;
            }
        }

        return true;
    }

    private static string Format(long ms) =>
        DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Information, Message = "wrote metrics range {Start}-{End} ({Samples} samples, {Series} series)")]
    private static partial void LogWroteRange(ILogger logger, string start, string end, int samples, int series);
}
