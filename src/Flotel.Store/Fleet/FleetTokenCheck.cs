namespace Flotel.Store.Fleet;

/// <summary>The outcome of presenting an enrolment token.</summary>
public enum FleetTokenCheck
{
    /// <summary>Known, unused, unexpired, secret matches: the token is now used.</summary>
    Accepted,

    /// <summary>No token with that id, or the secret does not match (the two are not told apart).</summary>
    Unknown,

    /// <summary>Past its expiry.</summary>
    Expired,

    /// <summary>Used before.</summary>
    AlreadyUsed,
}
