namespace Flotel.Gateway.Store.Logs;

/// <summary>
/// A search the store cannot run because of the query itself (SQLite refused the statement it compiled to): the
/// client's request is at fault, so the query APIs answer 400, not 500.
/// </summary>
public sealed class LogQueryException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LogQueryException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public LogQueryException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public LogQueryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
