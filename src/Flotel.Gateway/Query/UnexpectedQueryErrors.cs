using System.Collections.Concurrent;
using Flotel.Gateway.Inputs;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Query;

/// <summary>
/// The last resort of the query APIs: an exception that is not the request's fault (a bug) is answered with a 500 in
/// the API's own error shape, and its stack trace is logged once per cause and <see cref="Interval"/>, so a client
/// repeating the request cannot flood the log (style.md rule 10); the next log line of that cause says how many were
/// held back.
/// </summary>
internal static partial class UnexpectedQueryErrors
{
    /// <summary>One stack trace per cause per this interval: the first says what to fix, the rest only how often.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>Distinct causes tracked; past this, new causes share one throttle (bounds the dictionary).</summary>
    private const int MaxCauses = 256;

    private const string OtherCause = "other";

    /// <summary>Throttle per cause (exception type and throwing method); grows to <see cref="MaxCauses"/> at most.</summary>
    private static readonly ConcurrentDictionary<string, WarningThrottle> Throttles = new(StringComparer.Ordinal);

    /// <summary>Logs <paramref name="error"/> of the <paramref name="api"/> request in <paramref name="context"/> (throttled).</summary>
    public static void Report(HttpContext context, string api, Exception error)
    {
        string cause = error.GetType().FullName + " in " + error.TargetSite?.DeclaringType?.FullName + "." + error.TargetSite?.Name;
        if (Throttles.Count >= MaxCauses && !Throttles.ContainsKey(cause))
        {
            cause = OtherCause;
        }

        WarningThrottle throttle = Throttles.GetOrAdd(cause, static _ => new WarningThrottle(TimeProvider.System, Interval));
        if (!throttle.TryAcquire(out long suppressed))
        {
            return;
        }

        ILoggerFactory? factory = context.RequestServices?.GetService<ILoggerFactory>();
        if (factory is not null)
        {
            LogUnexpected(factory.CreateLogger("Flotel.Gateway.Query"), api, context.Request.Path, suppressed, error);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Api} request {Path} failed with an unexpected error, answered 500 ({Suppressed} more of this cause not logged since the last)")]
    private static partial void LogUnexpected(ILogger logger, string api, string path, long suppressed, Exception error);
}
