using System.Text.Json;
using Flotel.Gateway.Query.Elasticsearch;
using Flotel.Store.Query.Elasticsearch;
using Microsoft.AspNetCore.Http;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// Error answers the gateway writes itself (no endpoint ran, or none may): refused credentials, unknown paths, a
/// method a path does not take. The body has the error shape of the API the path belongs to — Prometheus's
/// <c>{"status":"error","errorType":…,"error":…}</c> under <c>/api/</c>, Elasticsearch's
/// <c>{"error":{"root_cause":[…],"type":…,"reason":…},"status":…}</c> elsewhere — so a client always reads a JSON
/// reason, never an empty body.
/// </summary>
public static class ErrorAnswers
{
    /// <summary>
    /// Middleware (last before the endpoints): when nothing was written and the status is 404 or 405 — no endpoint
    /// matched, or routing found the path with another method — writes the JSON error.
    /// </summary>
    public static async Task UnmatchedAsync(HttpContext context, Func<Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        await next().ConfigureAwait(false);
        var status = context.Response.StatusCode;
        if (context.Response.HasStarted || (status != StatusCodes.Status404NotFound && status != StatusCodes.Status405MethodNotAllowed))
        {
            return;
        }

        var uri = context.Request.Path.Value;
        var reason = status == StatusCodes.Status404NotFound
            ? $"no handler found for uri [{uri}] and method [{context.Request.Method}]"
            : $"Incorrect HTTP method for uri [{uri}] and method [{context.Request.Method}]";
        await WriteAsync(context, status, "illegal_argument_exception", reason).ConfigureAwait(false);
    }

    /// <summary>Writes an error answer with <paramref name="status"/>, in the shape of the API <paramref name="context"/>'s path belongs to.</summary>
    public static async Task WriteAsync(HttpContext context, int status, string elasticsearchType, string reason)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!IsPrometheusPath(context.Request.Path))
        {
            await ElasticsearchApi.WriteErrorAsync(context, new ElasticsearchException(status, elasticsearchType, reason)).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        using var body = new MemoryStream();
        using (var w = new Utf8JsonWriter(body))
        {
            w.WriteStartObject();
            w.WriteString("status", "error");
            w.WriteString("errorType", PrometheusErrorType(status));
            w.WriteString("error", reason);
            w.WriteEndObject();
        }

        await context.Response.Body.WriteAsync(body.GetBuffer().AsMemory(0, (int)body.Length), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Paths of the Prometheus HTTP API and remote write (<c>/api/…</c>, any letter case).</summary>
    private static bool IsPrometheusPath(PathString path) => path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase);

    /// <summary>Prometheus's <c>errorType</c> for a status the gateway answers itself.</summary>
    private static string PrometheusErrorType(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => "unauthorized",
        StatusCodes.Status404NotFound => "not_found",
        StatusCodes.Status503ServiceUnavailable => "unavailable",
        >= 500 => "internal",
        _ => "bad_data",
    };
}
