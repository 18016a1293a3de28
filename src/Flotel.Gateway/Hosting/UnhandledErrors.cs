using System.Collections.Concurrent;
using Flotel.Gateway.Inputs;
using Flotel.Pipeline.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// The last line of defence around every endpoint: an exception no handler turned into an answer becomes a 500 with
/// the API's JSON error (never an empty body), is counted in <c>flotel_http_internal_errors_total</c>, and is logged
/// with its stack trace once per cause (exception type and throwing method) — later occurrences of the same cause are
/// throttled warnings without the trace, so a client repeating the request cannot flood the log.
/// A request whose client went away is not an error: it ends quietly.
/// </summary>
public sealed partial class UnhandledErrors
{
    /// <summary>Causes remembered for "first time: log the trace"; past this many, every new cause is only throttled.</summary>
    private const int MaxRememberedCauses = 1024;

    private readonly ILogger _logger;
    private readonly Counter _errors;
    private readonly WarningThrottle _repeats;
    private readonly ConcurrentDictionary<string, byte> _seen = new(StringComparer.Ordinal);

    public UnhandledErrors(ILogger logger, MetricsRegistry metrics, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _logger = logger;
        _errors = metrics.Counter("flotel_http_internal_errors_total", "HTTP requests answered 500 because of an unexpected error in the gateway.");
        _repeats = new WarningThrottle(time);
    }

    /// <summary>Middleware: runs the rest of the pipeline and answers for what it threw.</summary>
    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        try
        {
            await next().ConfigureAwait(false);
        }
        catch (Exception e) when (context.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            // The client is gone: nobody to answer.
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            // The request broke one of the listener's limits while a handler read it (a body over http.maxBodyBytes,
            // a body sent too slowly): the client's fault, answered with the status Kestrel chose.
            context.Response.Clear();
            var type = e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "content_too_long_exception" : "parse_exception";
            await ErrorAnswers.WriteAsync(context, e.StatusCode, type, e.Message).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _errors.Increment();
            var cause = e.GetType().FullName + " at " + (e.TargetSite is { } site ? site.DeclaringType?.FullName + "." + site.Name : "?");
            if (_seen.Count < MaxRememberedCauses && _seen.TryAdd(cause, 0))
            {
                LogFirst(_logger, context.Request.Method, context.Request.Path.Value ?? string.Empty, e);
            }
            else if (_repeats.TryAcquire(out var held))
            {
                LogRepeat(_logger, context.Request.Method, context.Request.Path.Value ?? string.Empty, cause, e.Message, held);
            }

            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await ErrorAnswers.WriteAsync(context, StatusCodes.Status500InternalServerError, "exception", "internal error: " + e.Message).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected error answering {Method} {Path} (answered 500; later errors of this cause are logged without the trace)")]
    private static partial void LogFirst(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unexpected error answering {Method} {Path}: {Cause}: {Reason} (answered 500; {Suppressed} more not logged; all counted in flotel_http_internal_errors_total)")]
    private static partial void LogRepeat(ILogger logger, string method, string path, string cause, string reason, long suppressed);
}
