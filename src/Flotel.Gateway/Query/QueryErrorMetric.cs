using System.Globalization;
using Flotel.Pipeline.Diagnostics;

namespace Flotel.Gateway.Query;

/// <summary>
/// <c>flotel_query_errors_total{api, status}</c>: query API requests answered with an error. A 400 is a request
/// refused as bad input (a syntax error, a query over a depth or size limit, a regex needing backtracking), a 500 a
/// failure of the gateway (its stack trace is in the log, see <see cref="UnexpectedQueryErrors"/>).
/// </summary>
internal static class QueryErrorMetric
{
    public const string Name = "flotel_query_errors_total";

    private const string Help = "Query API requests answered with an error, by API and HTTP status (400: refused input, e.g. over a depth limit; 500: gateway failure).";

    /// <summary>Counts an answer of <paramref name="status"/> when it is an error (nothing without a registry).</summary>
    public static void Count(MetricsRegistry? metrics, string api, int status)
    {
        if (metrics is not null && status >= 400)
        {
            metrics.Counter(Name, Help, ("api", api), ("status", status.ToString(CultureInfo.InvariantCulture))).Increment();
        }
    }
}
