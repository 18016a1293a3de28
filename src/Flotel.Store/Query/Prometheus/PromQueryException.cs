namespace Flotel.Store.Query.Prometheus;

/// <summary>
/// A PromQL query that cannot be parsed or evaluated. <see cref="ErrorType"/> and <see cref="HttpStatusCode"/>
/// are what Prometheus's HTTP API answers: <c>bad_data</c>/400 for bad input, <c>execution</c>/422 for a query
/// that parsed but failed while running, <c>timeout</c>/503 for a query out of time.
/// </summary>
public sealed class PromQueryException : Exception
{
    /// <summary>Creates an exception.</summary>
    public PromQueryException(string errorType, int httpStatusCode, string message)
        : base(message)
    {
        ErrorType = errorType;
        HttpStatusCode = httpStatusCode;
    }

    /// <summary>Creates a bad_data exception.</summary>
    public PromQueryException()
        : this("bad_data", 400, "bad data")
    {
    }

    /// <summary>Creates a bad_data exception.</summary>
    public PromQueryException(string message)
        : this("bad_data", 400, message)
    {
    }

    /// <summary>Creates a bad_data exception.</summary>
    public PromQueryException(string message, Exception innerException)
        : base(message, innerException)
    {
        ErrorType = "bad_data";
        HttpStatusCode = 400;
    }

    /// <summary>Prometheus <c>errorType</c>: <c>bad_data</c>, <c>execution</c> or <c>timeout</c>.</summary>
    public string ErrorType { get; } = "bad_data";

    /// <summary>HTTP status to answer with.</summary>
    public int HttpStatusCode { get; } = 400;

    /// <summary>A parse error at character offset <paramref name="position"/> of <paramref name="query"/>, formatted like Prometheus (<c>line:col: parse error: …</c>).</summary>
    internal static PromQueryException Parse(string query, int position, string message)
    {
        var line = 1;
        var col = 1;
        for (var i = 0; i < position && i < query.Length; i++)
        {
            if (query[i] == '\n')
            {
                line++;
                col = 1;
            }
            else
            {
                col++;
            }
        }

        return new PromQueryException(
            line.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + col.ToString(System.Globalization.CultureInfo.InvariantCulture) + ": parse error: " + message)
        {
            Position = position,
        };
    }

    /// <summary>Character offset of a parse error in the query, or -1.</summary>
    public int Position { get; private init; } = -1;

    /// <summary>
    /// The limit the query went over when it failed for one (<c>samples</c>: <see cref="PromEngine.MaxSamples"/>,
    /// <c>series</c>: <see cref="PromEngine.MaxSeries"/>), else null: what the refusal is counted as.
    /// </summary>
    public string? Limit { get; private init; }

    /// <summary>An execution error (422).</summary>
    internal static PromQueryException Execution(string message) => new("execution", 422, message);

    /// <summary>
    /// Prometheus's ErrTooManySamples in the environment "query execution" (promql/engine.go), which its API answers
    /// as errorType <c>execution</c>, 422: clients that recognise the refusal by its text see the same words.
    /// </summary>
    public static PromQueryException TooManySamples() =>
        new("execution", 422, "query processing would load too many samples into memory in query execution") { Limit = "samples" };

    /// <summary>
    /// A query whose selector matches more series than <see cref="PromEngine.MaxSeries"/>: Prometheus has no such
    /// limit, so the answer takes the shape and words of its sample limit's.
    /// </summary>
    public static PromQueryException TooManySeries() =>
        new("execution", 422, "query processing would load too many series into memory in query execution") { Limit = "series" };
}
