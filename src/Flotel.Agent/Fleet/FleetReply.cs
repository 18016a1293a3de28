namespace Flotel.Agent.Fleet;

/// <summary>How a fleet call ended (style rule 4: outcomes are values).</summary>
public enum FleetReplyKind
{
    /// <summary>2xx with a body that parsed.</summary>
    Ok,

    /// <summary>304: the bundle did not change.</summary>
    NotModified,

    /// <summary>404: the gateway does not know this device (its EdgeDevice was deleted).</summary>
    NotFound,

    /// <summary>Another 4xx: the gateway refuses the request for good (used token, revoked certificate); the message is the gateway's.</summary>
    Refused,

    /// <summary>No connection, a timeout, 5xx or 429, or an answer that did not parse: try again later.</summary>
    Unavailable,
}

/// <summary>The outcome of one fleet call: its kind, the parsed body on <see cref="FleetReplyKind.Ok"/>, else a message.</summary>
public readonly record struct FleetReply<T>(FleetReplyKind Kind, T? Value, string Message, TimeSpan? RetryAfter = null, int Status = 0)
{
    public static FleetReply<T> Ok(T value) => new(FleetReplyKind.Ok, value, string.Empty, null, 200);
}
