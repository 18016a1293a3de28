using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Flotel.Pipeline.Diagnostics;
using Flotel.Store.Query.Prometheus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotel.Gateway.Query.Prometheus;

/// <summary>
/// The Prometheus API endpoints that read no samples: <c>status/buildinfo</c>, <c>status/runtimeinfo</c>,
/// <c>targets</c>, <c>metadata</c> (GET, as Prometheus), <c>query_exemplars</c> and <c>format_query</c> (GET or POST).
/// Shapes, parameters and error messages are Prometheus 2.42's (checked against a running one); they answer at once, so
/// they do not wait for a query slot.
/// </summary>
public static partial class PrometheusApi
{
    /// <summary>
    /// The Prometheus version <c>buildinfo</c> reports. Grafana reads <c>data.version</c> of a buildinfo without
    /// <c>features</c> as a Prometheus version and enables what that version has (grafana/grafana
    /// public/app/features/alerting/unified/api/buildInfo.ts, <c>discoverDataSourceFeatures</c>; its Prometheus data
    /// source compares it as semver). 2.42.0 is the version whose PromQL answers the gateway's are compared with
    /// (tests/Flotel.IntegrationTests/Prometheus), and whose API this one follows.
    /// </summary>
    public const string CompatiblePrometheusVersion = "2.42.0";

    /// <summary>Flotel's own version (the gateway assembly's), reported in <c>buildinfo</c>'s <c>revision</c> and <c>branch</c>.</summary>
    public static readonly string FlotelVersion = typeof(PrometheusApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(PrometheusApi).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private static void MapStatusApi(IEndpointRouteBuilder routes, MetricsRegistry? metrics, TimeProvider time, PrometheusApiOptions options)
    {
        var started = (options.StartTime ?? time.GetUtcNow()).UtcDateTime;
        string[] get = ["GET"];
        string[] getOrPost = ["GET", "POST"];
        routes.MapMethods("/api/v1/status/buildinfo", get, ctx => Answer(ctx, metrics, w => WriteBuildInfo(w)));
        routes.MapMethods("/api/v1/status/runtimeinfo", get, ctx => Answer(ctx, metrics, w => WriteRuntimeInfo(w, started, options)));
        routes.MapMethods("/api/v1/targets", get, ctx => Answer(ctx, metrics, WriteTargets));
        routes.MapMethods("/api/v1/metadata", get, ctx => AnswerAsync(ctx, metrics, w => WriteMetadataAsync(ctx, w, options)));
        routes.MapMethods("/api/v1/query_exemplars", getOrPost, ctx => AnswerAsync(ctx, metrics, w => WriteExemplarsAsync(ctx, w)));
        routes.MapMethods("/api/v1/format_query", getOrPost, ctx => AnswerAsync(ctx, metrics, w => WriteFormatQueryAsync(ctx, w)));
    }

    private static Task Answer(HttpContext ctx, MetricsRegistry? metrics, Action<Utf8JsonWriter> writeData) =>
        AnswerAsync(ctx, metrics, w =>
        {
            writeData(w);
            return Task.CompletedTask;
        });

    /// <summary>Prometheus's envelope around <paramref name="writeData"/>'s data, or its error shape for a <see cref="PromQueryException"/>.</summary>
    private static async Task AnswerAsync(HttpContext ctx, MetricsRegistry? metrics, Func<Utf8JsonWriter, Task> writeData)
    {
        var body = new System.Buffers.ArrayBufferWriter<byte>(1024);
        try
        {
            using (var w = new Utf8JsonWriter(body, JsonOptions))
            {
                w.WriteStartObject();
                w.WriteString("status", "success");
                w.WritePropertyName("data");
                await writeData(w).ConfigureAwait(false);
                w.WriteEndObject();
            }

            ctx.Response.StatusCode = StatusCodes.Status200OK;
        }
        catch (Exception ex) when (ex is PromQueryException or BadHttpRequestException or InvalidDataException)
        {
            var error = ex as PromQueryException
                ?? new PromQueryException("bad_data", ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest, "invalid request: " + ex.Message);
            body.Clear();
            using (var w = new Utf8JsonWriter(body, JsonOptions))
            {
                w.WriteStartObject();
                w.WriteString("status", "error");
                w.WriteString("errorType", error.ErrorType);
                w.WriteString("error", error.Message);
                w.WriteEndObject();
            }

            ctx.Response.StatusCode = error.HttpStatusCode;
        }

        QueryErrorMetric.Count(metrics, "prometheus", ctx.Response.StatusCode);
        ctx.Response.ContentType = "application/json";
        await ctx.Response.Body.WriteAsync(body.WrittenMemory, ctx.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Prometheus's six fields. <c>version</c> is <see cref="CompatiblePrometheusVersion"/> (what clients compare);
    /// the shape has no field for another product, so Flotel says who it is in the two free-text fields: <c>branch</c>
    /// is <c>flotel</c> and <c>revision</c> is <c>flotel-</c> and Flotel's version; <c>goVersion</c> names the runtime
    /// that really runs (.NET), as there is no Go.
    /// </summary>
    private static void WriteBuildInfo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("version", CompatiblePrometheusVersion);
        w.WriteString("revision", "flotel-" + FlotelVersion);
        w.WriteString("branch", "flotel");
        w.WriteString("buildUser", "flotel");
        w.WriteString("buildDate", BuildTime().ToString("yyyyMMdd-HH:mm:ss", CultureInfo.InvariantCulture));
        w.WriteString("goVersion", "dotnet" + Environment.Version.ToString(3));
        w.WriteEndObject();
    }

    /// <summary>
    /// When the gateway's assembly file was written. A single-file build has no such file beside the executable
    /// (<c>Assembly.Location</c> is empty there, and naming it breaks that build), so the executable's own time stands in.
    /// </summary>
    private static DateTime BuildTime()
    {
        var assembly = Path.Combine(AppContext.BaseDirectory, typeof(PrometheusApi).Assembly.GetName().Name + ".dll");
        return File.GetLastWriteTimeUtc(File.Exists(assembly) ? assembly : Environment.ProcessPath ?? AppContext.BaseDirectory);
    }

    /// <summary>
    /// Prometheus's runtimeinfo fields, each with the gateway's nearest true value: the configuration is read once at
    /// start (so it was loaded then, successfully); no corruption is tracked (0); <c>goroutineCount</c> is the process's
    /// thread count; <c>GOMAXPROCS</c> the processors .NET uses; <c>GOGC</c>/<c>GODEBUG</c> are empty, as in a
    /// Prometheus without those variables.
    /// </summary>
    private static void WriteRuntimeInfo(Utf8JsonWriter w, DateTime started, PrometheusApiOptions options)
    {
        w.WriteStartObject();
        w.WriteString("startTime", started.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));
        w.WriteString("CWD", Environment.CurrentDirectory);
        w.WriteBoolean("reloadConfigSuccess", true);
        w.WriteString("lastConfigTime", started.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        w.WriteNumber("corruptionCount", 0);
        using (var process = Process.GetCurrentProcess())
        {
            w.WriteNumber("goroutineCount", process.Threads.Count);
        }

        w.WriteNumber("GOMAXPROCS", Environment.ProcessorCount);
        w.WriteString("GOGC", string.Empty);
        w.WriteString("GODEBUG", string.Empty);
        w.WriteString("storageRetention", options.StorageRetention);
        w.WriteEndObject();
    }

    /// <summary>The gateway scrapes nothing (samples arrive by remote write), so both lists are empty whatever <c>state</c> asks.</summary>
    private static void WriteTargets(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartArray("activeTargets");
        w.WriteEndArray();
        w.WriteStartArray("droppedTargets");
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>
    /// <c>metric</c>, <c>limit</c> (families; negative or absent: all; 0: none, as Prometheus) and
    /// <c>limit_per_metric</c> (entries per family; 0 or less: all); a limit that is not an integer is
    /// <c>bad_data</c> "limit must be a number".
    /// </summary>
    private static async Task WriteMetadataAsync(HttpContext ctx, Utf8JsonWriter w, PrometheusApiOptions options)
    {
        var limit = await IntegerParamAsync(ctx, "limit").ConfigureAwait(false);
        var limitPerMetric = await IntegerParamAsync(ctx, "limit_per_metric").ConfigureAwait(false);
        var metric = await SingleAsync(ctx, "metric").ConfigureAwait(false);
        w.WriteStartObject();
        if (options.Metadata is { } store)
        {
            foreach (var (name, entries) in store.Select(metric, limit, limitPerMetric))
            {
                w.WriteStartArray(name);
                foreach (var e in entries)
                {
                    w.WriteStartObject();
                    w.WriteString("type", e.Type);
                    w.WriteString("help", e.Help);
                    w.WriteString("unit", e.Unit);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }
        }

        w.WriteEndObject();
    }

    /// <summary>Go's <c>strconv.Atoi</c> of the parameter: -1 when absent; an error in Prometheus's words otherwise.</summary>
    private static async Task<int> IntegerParamAsync(HttpContext ctx, string name)
    {
        var text = await SingleAsync(ctx, name).ConfigureAwait(false);
        if (text is null)
        {
            return -1;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new PromQueryException(name + " must be a number");
        }

        return value;
    }

    /// <summary>
    /// The gateway keeps no exemplars (remote write's are skipped and counted on ingest), so a valid request answers an
    /// empty list. Validation is Prometheus's, in its order: <c>start</c>, <c>end</c>, their order, then the query
    /// (whose parse error is not prefixed with the parameter's name there).
    /// </summary>
    private static async Task WriteExemplarsAsync(HttpContext ctx, Utf8JsonWriter w)
    {
        var start = await ExemplarTimeAsync(ctx, "start", MinTime).ConfigureAwait(false);
        var end = await ExemplarTimeAsync(ctx, "end", MaxTime).ConfigureAwait(false);
        if (end < start)
        {
            throw new PromQueryException("end timestamp must not be before start timestamp");
        }

        var query = await SingleAsync(ctx, "query").ConfigureAwait(false);
        if (query is null)
        {
            throw new PromQueryException("1:1: parse error: no expression found in input");
        }

        _ = PromParser.Parse(query);
        w.WriteStartArray();
        w.WriteEndArray();
    }

    private static async Task<long> ExemplarTimeAsync(HttpContext ctx, string name, long fallback)
    {
        var text = await SingleAsync(ctx, name).ConfigureAwait(false);
        if (text is null)
        {
            return fallback;
        }

        if (!PromFormat.TryParseTime(text, out var ms))
        {
            throw new PromQueryException("invalid parameter \"" + name + "\": Invalid time value for '" + name + "': cannot parse \"" + text + "\" to a valid timestamp");
        }

        return ms;
    }

    /// <summary>The query, parsed and printed back (<see cref="PromPrinter"/>); a parse error is Prometheus's "invalid parameter \"query\"" one.</summary>
    private static async Task WriteFormatQueryAsync(HttpContext ctx, Utf8JsonWriter w)
    {
        var expr = ParseQuery(await SingleAsync(ctx, "query").ConfigureAwait(false));
        w.WriteStringValue(PromPrinter.Format(expr));
    }
}
