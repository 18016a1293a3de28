namespace Flotel.Gateway.Query;

/// <summary>How a query ended: the <c>result</c> label of <c>flotel_query_requests_total</c>.</summary>
internal enum QueryOutcome
{
    /// <summary>Answered.</summary>
    Ok,

    /// <summary>Refused or failed (bad input, an execution error, an unexpected exception).</summary>
    Error,

    /// <summary>Its time ran out, waiting for a slot or running; the client got a timeout error.</summary>
    Timeout,

    /// <summary>The client went away first; evaluation stopped and nothing was answered.</summary>
    Canceled,
}
