namespace Flotel.Gateway.Configuration;

/// <summary>
/// An output's options class whose keys include a <see cref="ConfigFormat.HeaderName"/> map: the headers the output
/// sets itself, which the map may not name. <c>Authorization</c>, <c>Host</c> and <c>Content-Length</c> are refused for every output.
/// </summary>
internal interface IReservedHeaderNames
{
    /// <summary>The header names refused, compared case-insensitively.</summary>
    IReadOnlySet<string> ReservedHeaderNames { get; }
}
