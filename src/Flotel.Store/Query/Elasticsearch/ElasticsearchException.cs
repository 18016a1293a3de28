namespace Flotel.Store.Query.Elasticsearch;

/// <summary>
/// A request the Elasticsearch-compatible API refuses, with the status and error type Elasticsearch would answer
/// (<c>{"error":{"root_cause":[…],"type":…,"reason":…},"status":…}</c>).
/// </summary>
public sealed class ElasticsearchException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ElasticsearchException(int status, string type, string reason, string? index = null)
        : base(reason)
    {
        Status = status;
        Type = type;
        Index = index;
    }

    /// <summary>Creates a 400 <c>parsing_exception</c>.</summary>
    public ElasticsearchException()
        : this(400, "parsing_exception", "bad request")
    {
    }

    /// <summary>Creates a 400 <c>parsing_exception</c>.</summary>
    public ElasticsearchException(string message)
        : this(400, "parsing_exception", message)
    {
    }

    /// <summary>Creates a 400 <c>parsing_exception</c>.</summary>
    public ElasticsearchException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = 400;
        Type = "parsing_exception";
    }

    /// <summary>HTTP status.</summary>
    public int Status { get; }

    /// <summary>Elasticsearch's error type, e.g. <c>parsing_exception</c>, <c>index_not_found_exception</c>.</summary>
    public string Type { get; }

    /// <summary>The index concerned (<c>index_not_found_exception</c>), if any.</summary>
    public string? Index { get; }

    /// <summary>A 400 <c>parsing_exception</c>.</summary>
    public static ElasticsearchException Parsing(string reason) => new(400, "parsing_exception", reason);

    /// <summary>A 400 <c>illegal_argument_exception</c>.</summary>
    public static ElasticsearchException IllegalArgument(string reason) => new(400, "illegal_argument_exception", reason);

    /// <summary>A 404 <c>index_not_found_exception</c>.</summary>
    public static ElasticsearchException IndexNotFound(string index) => new(404, "index_not_found_exception", $"no such index [{index}]", index);
}
