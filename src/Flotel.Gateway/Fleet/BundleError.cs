namespace Flotel.Gateway.Fleet;

/// <summary>An error of one object in a device's bundle (<c>{"object": "edgeworkload/x", "message": "…"}</c>).</summary>
public sealed record BundleError(string Object, string Message);
