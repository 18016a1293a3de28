using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Diagnostics;
using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace Flotel.Gateway.Query.Prometheus;

/// <summary>
/// Prometheus HTTP API v1 (read side) over the embedded <see cref="MetricStore"/>: <c>/api/v1/query</c>,
/// <c>/api/v1/query_range</c>, <c>/api/v1/series</c>, <c>/api/v1/labels</c>, <c>/api/v1/label/{name}/values</c>, GET or
/// POST (form body); the endpoints that read no samples (status, targets, metadata, exemplars, format_query) are in
/// PrometheusApi.Status.cs. Shapes follow https://prometheus.io/docs/prometheus/latest/querying/api/:
/// <c>{"status":"success","data":…}</c> or <c>{"status":"error","errorType":"bad_data","error":"…"}</c>.
/// Every request runs under the gateway's <see cref="QueryLimiter"/>: a query waits for a slot, is stopped when its time
/// (<c>query.timeout</c>, or less with a <c>timeout</c> parameter on <c>query</c>/<c>query_range</c>) is up — answered
/// 503 <c>{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}</c>, as Prometheus
/// 2.x — and stops evaluating when its client disconnects (nothing is answered then).
/// </summary>
public static partial class PrometheusApi
{
    private const long MinTime = -PromFormat.MaxTimeMs; // Prometheus's API MinTime/MaxTime in ms, roughly ±292 million years
    private const long MaxTime = PromFormat.MaxTimeMs;

    /// <summary>The stage of a running PromQL query in a timeout message (Prometheus's engine says the same).</summary>
    private const string EvaluationStage = "expression evaluation";

    /// <summary>The stage of a running series or label lookup in a timeout message.</summary>
    private const string SeriesStage = "series lookup";

    /// <summary>Samples loaded by one query (16 bytes each) above which it is followed by a background collection.</summary>
    private const long LargeQuerySamples = 2_000_000;

    // Prometheus writes "+Inf" and non-ASCII label values unescaped; the relaxed encoder does the same (JSON is the body, never HTML).
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Maps the read endpoints with the default limits (Prometheus's). <c>/api/v1/write</c> is not mapped here (ingest owns it).</summary>
    public static IEndpointRouteBuilder MapPrometheusApi(this IEndpointRouteBuilder routes, MetricStore store, TimeProvider time) =>
        MapPrometheusApi(routes, store, time, new QueryLimiter(QueryLimiter.DefaultTimeout, QueryLimiter.DefaultMaxConcurrency, new MetricsRegistry(), time));

    /// <summary>
    /// Maps the read endpoints, every query under <paramref name="limits"/>; <paramref name="metrics"/>, when given, counts
    /// error answers (<see cref="QueryErrorMetric"/>).
    /// </summary>
    internal static IEndpointRouteBuilder MapPrometheusApi(this IEndpointRouteBuilder routes, MetricStore store, TimeProvider time, QueryLimiter limits, MetricsRegistry? metrics = null, PrometheusApiOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(limits);
        options ??= new PrometheusApiOptions();
        var view = options.LabelNames == PrometheusLabelNames.Sanitize ? new LabelNameView(store, time) : null;
        string[] methods = ["GET", "POST"];
        routes.MapMethods("/api/v1/query", methods, ctx =>
            Handle(ctx, limits, metrics, "query", (w, spill, run) => QueryAsync(ctx, w, spill, run, store, time, view, options)));
        routes.MapMethods("/api/v1/query_range", methods, ctx =>
            Handle(ctx, limits, metrics, "query_range", (w, spill, run) => QueryRangeAsync(ctx, w, spill, run, store, view, options)));
        routes.MapMethods("/api/v1/series", methods, ctx =>
            Handle(ctx, limits, metrics, "series", (w, spill, run) => SeriesAsync(ctx, w, spill, run, store, view, options.MaxSeries)));
        routes.MapMethods("/api/v1/labels", methods, ctx => Handle(ctx, limits, metrics, "labels", (w, _, run) => LabelsAsync(ctx, w, run, store, view)));
        routes.MapMethods("/api/v1/label/{name}/values", methods, ctx => Handle(ctx, limits, metrics, "label_values", (w, _, run) => LabelValuesAsync(ctx, w, run, store, view)));
        MapStatusApi(routes, metrics, time, options);
        return routes;
    }

    /// <summary>
    /// Answers with Prometheus's envelope. The answer is built in memory, so an error found while computing it still
    /// becomes an error answer; large answers (a range query over many series: tens of MB) go out in pieces once
    /// they pass <see cref="ResponseSpill.SpillBytes"/> — every error is found before the first series is written.
    /// A query stopped by its deadline is answered with Prometheus's timeout error; one whose client went away is not
    /// answered at all (the connection is gone), only counted.
    /// </summary>
    private static async Task Handle(HttpContext ctx, QueryLimiter limits, MetricsRegistry? metrics, string api, Func<Utf8JsonWriter, ResponseSpill, QueryRun, Task> writeData)
    {
        try
        {
            await HandleErrors(ctx, limits, api, writeData).ConfigureAwait(false);
        }
        finally
        {
            QueryErrorMetric.Count(metrics, "prometheus", ctx.Response.StatusCode);
        }
    }

    private static async Task HandleErrors(HttpContext ctx, QueryLimiter limits, string api, Func<Utf8JsonWriter, ResponseSpill, QueryRun, Task> writeData)
    {
        using var run = limits.Begin(api, ctx.RequestAborted);
        var spill = new ResponseSpill(ctx);
        PromQueryException? error = null;
        try
        {
            using (var writer = new Utf8JsonWriter(spill, JsonOptions))
            {
                writer.WriteStartObject();
                writer.WriteString("status", "success");
                writer.WritePropertyName("data");
                await writeData(writer, spill, run).ConfigureAwait(false);
                writer.WriteEndObject();
            }

            if (!spill.Started)
            {
                ctx.Response.StatusCode = 200;
            }
        }
        catch (PromQueryException ex) when (!spill.Started)
        {
            error = ex;
            if (ex.Limit is { } limit)
            {
                limits.CountRefused(api, limit);
            }
        }
        catch (Exception ex) when (run.IsStop(ex))
        {
            if (run.ClientGone || spill.Started)
            {
                run.Complete(run.ClientGone ? QueryOutcome.Canceled : QueryOutcome.Timeout);
                ctx.Abort();
                return;
            }

            // Prometheus's ErrQueryTimeout, answered as errorTimeout: 503.
            error = new PromQueryException("timeout", StatusCodes.Status503ServiceUnavailable, "query timed out in " + run.Stage);
        }
        catch (Exception ex) when (IsBadRequest(ex) && !spill.Started)
        {
            error = new PromQueryException("bad_data", ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest, "invalid request: " + ex.Message);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            run.Complete(QueryOutcome.Canceled);
            return; // the client went away: nobody to answer
        }
        catch (Exception ex)
        {
            // Last resort: a bug, not the request. Never an empty 500: Prometheus's error shape ("internal", as its API
            // answers an internal error), and the stack trace in the log once per cause.
            UnexpectedQueryErrors.Report(ctx, "Prometheus", ex);
            if (spill.Started)
            {
                run.Complete(QueryOutcome.Error);
                ctx.Abort(); // part of a 200 answer is out: cut it rather than end it as if it were whole
                return;
            }

            error = new PromQueryException("internal", StatusCodes.Status500InternalServerError, "the gateway failed to answer this query; its log has the details");
        }

        if (error is not null)
        {
            WriteError(spill, error.ErrorType, error.Message);
            ctx.Response.StatusCode = error.HttpStatusCode;
        }

        try
        {
            await spill.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (run.IsStop(ex) && run.ClientGone)
        {
            run.Complete(QueryOutcome.Canceled);
            return;
        }

        run.Complete(error is null ? QueryOutcome.Ok : error.ErrorType == "timeout" ? QueryOutcome.Timeout : QueryOutcome.Error);
    }

    /// <summary>
    /// Failures reading the request rather than running it: Kestrel's body limits, and a form whose value or key count
    /// is over ASP.NET's form limits (a <c>query=</c> of more than 4 MiB in a POST body), which are
    /// <see cref="InvalidDataException"/>.
    /// </summary>
    private static bool IsBadRequest(Exception ex) => ex is BadHttpRequestException or InvalidDataException;

    private static void WriteError(ResponseSpill spill, string errorType, string message)
    {
        spill.Clear();
        using var writer = new Utf8JsonWriter(spill, JsonOptions);
        writer.WriteStartObject();
        writer.WriteString("status", "error");
        writer.WriteString("errorType", errorType);
        writer.WriteString("error", message);
        writer.WriteEndObject();
    }

    /// <summary>
    /// The answer's bytes: kept in memory, and sent in pieces once more than <see cref="SpillBytes"/> are waiting at a
    /// point the writer chooses (<see cref="SpillAsync"/>, between series), so a 40 MB answer no longer needs a 64 MB
    /// buffer grown by doubling (large objects) on top of the query's own data.
    /// </summary>
    private sealed class ResponseSpill(HttpContext ctx) : IBufferWriter<byte>
    {
        public const int SpillBytes = 256 * 1024;

        private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024);

        /// <summary>Whether bytes (and the 200 status) were sent: no error answer is possible any more.</summary>
        public bool Started { get; private set; }

        public void Advance(int count) => _buffer.Advance(count);

        public Memory<byte> GetMemory(int sizeHint = 0) => _buffer.GetMemory(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => _buffer.GetSpan(sizeHint);

        public void Clear() => _buffer.Clear();

        /// <summary>Sends what is waiting when it is more than <see cref="SpillBytes"/>.</summary>
        public async ValueTask SpillAsync(Utf8JsonWriter writer)
        {
            writer.Flush();
            if (_buffer.WrittenCount >= SpillBytes)
            {
                await SendAsync().ConfigureAwait(false);
            }
        }

        public Task CompleteAsync() => SendAsync();

        private async Task SendAsync()
        {
            if (!Started)
            {
                Started = true;
                ctx.Response.ContentType = "application/json";
            }

            await ctx.Response.Body.WriteAsync(_buffer.WrittenMemory, ctx.RequestAborted).ConfigureAwait(false);
            _buffer.ResetWrittenCount();
        }
    }

    private static async Task<StringValues> ParamAsync(HttpContext ctx, string name)
    {
        var values = ctx.Request.Query[name];
        if (values.Count == 0 && ctx.Request.HasFormContentType)
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted).ConfigureAwait(false);
            values = form[name];
        }

        return values;
    }

    private static async Task<string?> SingleAsync(HttpContext ctx, string name)
    {
        var v = await ParamAsync(ctx, name).ConfigureAwait(false);
        return v.Count == 0 || string.IsNullOrEmpty(v[0]) ? null : v[0];
    }

    private static async Task<long> TimeParamAsync(HttpContext ctx, string name, long fallback)
    {
        var text = await SingleAsync(ctx, name).ConfigureAwait(false);
        if (text is null)
        {
            return fallback;
        }

        if (!PromFormat.TryParseTime(text, out var ms))
        {
            throw new PromQueryException("invalid parameter \"" + name + "\": cannot parse \"" + text + "\" to a valid timestamp");
        }

        return ms;
    }

    private static PromExpr ParseQuery(string? query)
    {
        if (query is null)
        {
            throw new PromQueryException("invalid parameter \"query\": 1:1: parse error: no expression found in input");
        }

        try
        {
            return PromParser.Parse(query);
        }
        catch (PromQueryException ex) when (ex.ErrorType == "bad_data")
        {
            throw new PromQueryException("invalid parameter \"query\": " + ex.Message, ex);
        }
    }

    /// <summary>The <c>timeout</c> parameter (Prometheus's API duration), or null when absent; capped by the run's limit.</summary>
    private static async Task<TimeSpan?> TimeoutParamAsync(HttpContext ctx)
    {
        var timeout = await SingleAsync(ctx, "timeout").ConfigureAwait(false);
        if (timeout is null)
        {
            return null;
        }

        if (!PromFormat.TryParseDuration(timeout, out var ms))
        {
            throw new PromQueryException("invalid parameter \"timeout\": cannot parse \"" + timeout + "\" to a valid duration");
        }

        return TimeSpan.FromMilliseconds(ms);
    }

    private static async Task QueryAsync(
        HttpContext ctx, Utf8JsonWriter w, ResponseSpill spill, QueryRun run, MetricStore store, TimeProvider time, LabelNameView? view, PrometheusApiOptions options)
    {
        var expr = ParseQuery(await SingleAsync(ctx, "query").ConfigureAwait(false));
        expr = view?.ToStored(expr) ?? expr;
        var t = await TimeParamAsync(ctx, "time", time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false);
        var timeout = await TimeoutParamAsync(ctx).ConfigureAwait(false);
        await run.StartAsync(timeout, EvaluationStage).ConfigureAwait(false);
        var engine = new PromEngine(store, run.Token) { MaxSamples = options.MaxSamples, MaxSeries = options.MaxSeries };
        var value = engine.Instant(expr, t);
        w.WriteStartObject();
        switch (value)
        {
            case ScalarValue s:
                w.WriteString("resultType", "scalar");
                w.WritePropertyName("result");
                WritePoint(w, t, s.Value);
                break;
            case StringValue s:
                w.WriteString("resultType", "string");
                w.WritePropertyName("result");
                WritePoint(w, t, s.Value);
                break;
            case VectorValue v:
                w.WriteString("resultType", "vector");
                w.WriteStartArray("result");
                foreach (var s in v.Samples)
                {
                    w.WriteStartObject();
                    WriteMetric(w, s.Labels, view);
                    w.WritePropertyName("value");
                    WritePoint(w, t, s.Value);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                break;
            case MatrixValue m:
                w.WriteString("resultType", "matrix");
                w.WriteStartArray("result");
                m.Series.Sort(static (a, b) => PromEngine.CompareLabels(a.Labels, b.Labels));
                foreach (var s in m.Series)
                {
                    WriteSeries(w, s.Labels, s.Samples, view);
                    await spill.SpillAsync(w).ConfigureAwait(false);
                }

                w.WriteEndArray();
                break;
        }

        w.WriteEndObject();
        ReleaseAfterLargeQuery(engine);
    }

    /// <summary>
    /// After a query that loaded at least <see cref="LargeQuerySamples"/> samples, asks for a background gen-2
    /// collection. A step-by-step evaluation keeps each series' samples as one array, over ~5,300 samples (a day at
    /// 15 s) a large object, which only a gen-2 collection frees: without this, repeated 24 h panels over 1,000 series
    /// left their arrays behind and the gateway's peak RSS rose 414 MiB (two queries) and 669 MiB (27 queries) instead
    /// of 341 MiB. Range functions are now decoded series by series into a reused buffer, but the collection still pays:
    /// over the five range queries of bench/peers/promql-range.sh, five times each (4,000 series × 24 h), the gateway
    /// peaked at 211 MiB with it and 280 MiB without (271 MiB still held afterwards); query times did not differ beyond
    /// the noise (neither build faster on every query, machine at load average 29).
    /// The collection runs concurrently (ingest keeps going); small queries never trigger it.
    /// </summary>
    private static void ReleaseAfterLargeQuery(PromEngine engine)
    {
        if (engine.SamplesLoaded >= LargeQuerySamples)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: false);
        }
    }

    private static async Task QueryRangeAsync(
        HttpContext ctx, Utf8JsonWriter w, ResponseSpill spill, QueryRun run, MetricStore store, LabelNameView? view, PrometheusApiOptions options)
    {
        var query = await SingleAsync(ctx, "query").ConfigureAwait(false);
        var start = await TimeParamAsync(ctx, "start", long.MinValue).ConfigureAwait(false);
        var end = await TimeParamAsync(ctx, "end", long.MinValue).ConfigureAwait(false);
        if (start == long.MinValue)
        {
            throw new PromQueryException("invalid parameter \"start\": cannot parse \"\" to a valid timestamp");
        }

        if (end == long.MinValue)
        {
            throw new PromQueryException("invalid parameter \"end\": cannot parse \"\" to a valid timestamp");
        }

        if (end < start)
        {
            throw new PromQueryException("invalid parameter \"end\": end timestamp must not be before start time");
        }

        var stepText = await SingleAsync(ctx, "step").ConfigureAwait(false) ?? string.Empty;
        if (!PromFormat.TryParseDuration(stepText, out var step))
        {
            throw new PromQueryException("invalid parameter \"step\": cannot parse \"" + stepText + "\" to a valid duration");
        }

        if (step <= 0)
        {
            throw new PromQueryException("invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer");
        }

        if ((end - start) / step > PromEngine.MaxPointsPerSeries)
        {
            throw new PromQueryException("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
        }

        var timeout = await TimeoutParamAsync(ctx).ConfigureAwait(false);
        var expr = ParseQuery(query);
        expr = view?.ToStored(expr) ?? expr;
        await run.StartAsync(timeout, EvaluationStage).ConfigureAwait(false);
        var engine = new PromEngine(store, run.Token) { MaxSamples = options.MaxSamples, MaxSeries = options.MaxSeries };
        var result = engine.Range(expr, start, end, step);
        w.WriteStartObject();
        w.WriteString("resultType", "matrix");
        w.WriteStartArray("result");
        foreach (var (labels, points) in result)
        {
            WriteSeries(w, labels, points, view);
            await spill.SpillAsync(w).ConfigureAwait(false);
        }

        w.WriteEndArray();
        w.WriteEndObject();
        ReleaseAfterLargeQuery(engine);
    }

    private static async Task<List<IReadOnlyList<LabelMatcher>>> MatchersAsync(HttpContext ctx, LabelNameView? view)
    {
        var result = new List<IReadOnlyList<LabelMatcher>>();
        foreach (var m in await ParamAsync(ctx, "match[]").ConfigureAwait(false))
        {
            var expr = m is null ? null : PromParserSafe(m);
            if (expr is not VectorSelector vs)
            {
                throw new PromQueryException("invalid parameter \"match[]\": " + (m ?? string.Empty) + " is not an instant vector selector");
            }

            result.Add(view?.ToStored(vs.Matchers) ?? vs.Matchers);
        }

        return result;
    }

    private static PromExpr PromParserSafe(string text)
    {
        try
        {
            return PromParser.Parse(text);
        }
        catch (PromQueryException ex) when (ex.ErrorType == "bad_data")
        {
            throw new PromQueryException("invalid parameter \"match[]\": " + ex.Message, ex);
        }
    }

    /// <summary>
    /// <c>/api/v1/series</c>: at most <paramref name="maxSeries"/> series in all (<c>query.maxSeries</c>; a larger answer is
    /// refused as a selector over as many series is), written in pieces (one label set is a few hundred bytes of JSON).
    /// </summary>
    private static async Task SeriesAsync(
        HttpContext ctx, Utf8JsonWriter w, ResponseSpill spill, QueryRun run, MetricStore store, LabelNameView? view, int maxSeries)
    {
        var sets = await MatchersAsync(ctx, view).ConfigureAwait(false);
        if (sets.Count == 0)
        {
            throw new PromQueryException("no match[] parameter provided");
        }

        var start = await TimeParamAsync(ctx, "start", MinTime).ConfigureAwait(false);
        var end = await TimeParamAsync(ctx, "end", MaxTime).ConfigureAwait(false);
        await run.StartAsync(null, SeriesStage).ConfigureAwait(false);
        var seen = new HashSet<LabelSet>();
        var all = new List<LabelSet>();
        foreach (var matchers in sets)
        {
            var series = store.Series(matchers, start, end, maxSeries, run.Token) ?? throw PromQueryException.TooManySeries();
            foreach (var labels in series)
            {
                if (seen.Add(labels))
                {
                    all.Add(labels);
                }
            }

            if (all.Count > maxSeries)
            {
                throw PromQueryException.TooManySeries();
            }
        }

        all.Sort(PromEngine.CompareLabels);
        w.WriteStartArray();
        foreach (var labels in all)
        {
            WriteLabels(w, labels, view);
            await spill.SpillAsync(w).ConfigureAwait(false);
        }

        w.WriteEndArray();
    }

    private static async Task LabelsAsync(HttpContext ctx, Utf8JsonWriter w, QueryRun run, MetricStore store, LabelNameView? view)
    {
        var sets = await MatchersAsync(ctx, view).ConfigureAwait(false);
        var start = await TimeParamAsync(ctx, "start", MinTime).ConfigureAwait(false);
        var end = await TimeParamAsync(ctx, "end", MaxTime).ConfigureAwait(false);
        await run.StartAsync(null, SeriesStage).ConfigureAwait(false);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (sets.Count == 0)
        {
            names.UnionWith(store.LabelNames([], start, end, run.Token));
        }

        foreach (var matchers in sets)
        {
            names.UnionWith(store.LabelNames(matchers, start, end, run.Token));
        }

        if (view is not null)
        {
            names = new SortedSet<string>(names.Select(LabelNameView.Sanitize), StringComparer.Ordinal);
        }

        w.WriteStartArray();
        foreach (var n in names)
        {
            w.WriteStringValue(n);
        }

        w.WriteEndArray();
    }

    private static async Task LabelValuesAsync(HttpContext ctx, Utf8JsonWriter w, QueryRun run, MetricStore store, LabelNameView? view)
    {
        var name = ctx.Request.RouteValues["name"] as string ?? string.Empty;
        if (!IsLabelName(name))
        {
            throw new PromQueryException("invalid label name: \"" + name + "\"");
        }

        name = view?.ToStored(name) ?? name;
        var sets = await MatchersAsync(ctx, view).ConfigureAwait(false);
        var start = await TimeParamAsync(ctx, "start", MinTime).ConfigureAwait(false);
        var end = await TimeParamAsync(ctx, "end", MaxTime).ConfigureAwait(false);
        await run.StartAsync(null, SeriesStage).ConfigureAwait(false);
        var values = new SortedSet<string>(StringComparer.Ordinal);
        if (sets.Count == 0)
        {
            values.UnionWith(store.LabelValues(name, [], start, end, run.Token));
        }

        foreach (var matchers in sets)
        {
            values.UnionWith(store.LabelValues(name, matchers, start, end, run.Token));
        }

        w.WriteStartArray();
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }

    /// <summary>Any name remote write accepts (e.g. Flotta's <c>metric-source</c>; see Wire's LabelRules).</summary>
    private static bool IsLabelName(string name) => name.Length > 0 && !name.Any(char.IsControl);

    /// <summary>[seconds, "value"] formatted on the stack (no strings per point).</summary>
    private static void WritePoint(Utf8JsonWriter w, long ms, double value)
    {
        // The usual point as one raw value, [t,"v"]: a 24 h panel over 1,000 series writes 1.44 M points, and four
        // writer calls each (array, number, string, end) were most of its JSON time. The text needs no escaping.
        Span<byte> point = stackalloc byte[80];
        point[0] = (byte)'[';
        var n = 1 + PromFormat.FormatTimestampUtf8(ms, point[1..]);
        point[n++] = (byte)',';
        point[n++] = (byte)'"';
        if (PromFormat.TryFormatFloatUtf8(value, point[n..^2], out var length))
        {
            n += length;
            point[n++] = (byte)'"';
            point[n++] = (byte)']';
            w.WriteRawValue(point[..n], skipInputValidation: true);
            return;
        }

        Span<byte> text = stackalloc byte[64];
        w.WriteStartArray();
        w.WriteRawValue(text[..PromFormat.FormatTimestampUtf8(ms, text)], skipInputValidation: true);
        if (PromFormat.TryFormatFloatUtf8(value, text, out var written))
        {
            w.WriteStringValue(text[..written]);
        }
        else
        {
            w.WriteStringValue(PromFormat.FormatFloat(value));
        }

        w.WriteEndArray();
    }

    private static void WritePoint(Utf8JsonWriter w, long ms, string value)
    {
        Span<byte> time = stackalloc byte[32];
        w.WriteStartArray();
        w.WriteRawValue(time[..PromFormat.FormatTimestampUtf8(ms, time)], skipInputValidation: true);
        w.WriteStringValue(value);
        w.WriteEndArray();
    }

    private static void WriteMetric(Utf8JsonWriter w, LabelSet labels, LabelNameView? view)
    {
        w.WritePropertyName("metric");
        WriteLabels(w, labels, view);
    }

    private static void WriteLabels(Utf8JsonWriter w, LabelSet labels, LabelNameView? view)
    {
        if (view is not null)
        {
            LabelNameView.WriteLabels(w, labels);
            return;
        }

        w.WriteStartObject();
        foreach (var l in labels)
        {
            w.WriteString(l.Name, l.Value);
        }

        w.WriteEndObject();
    }

    private static void WriteSeries(Utf8JsonWriter w, LabelSet labels, IReadOnlyList<Sample> points, LabelNameView? view)
    {
        w.WriteStartObject();
        WriteMetric(w, labels, view);
        w.WriteStartArray("values");
        foreach (var p in points)
        {
            WritePoint(w, p.TimestampMs, p.Value);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
