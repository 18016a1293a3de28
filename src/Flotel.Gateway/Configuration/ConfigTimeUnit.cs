namespace Flotel.Gateway.Configuration;

/// <summary>
/// The unit of a <see cref="TimeSpan"/> key written as a plain integer (<c>timeoutSeconds: 30</c>,
/// <c>minBackoffMs: 500</c>) rather than as a duration with a unit (<see cref="ConfigKeyAttribute.TimeUnit"/>): the
/// key's name says the unit, as the output keys have always done.
/// </summary>
internal enum ConfigTimeUnit
{
    /// <summary>A duration with a unit (<c>30s</c>), bounded by <see cref="ConfigKeyAttribute.MaxDuration"/>.</summary>
    None,

    /// <summary>Whole seconds, within <see cref="ConfigKeyAttribute.Min"/>–<see cref="ConfigKeyAttribute.Max"/>.</summary>
    Seconds,

    /// <summary>Whole milliseconds, within <see cref="ConfigKeyAttribute.Min"/>–<see cref="ConfigKeyAttribute.Max"/>.</summary>
    Milliseconds,
}
