namespace Flotel.Gateway.Configuration;

/// <summary>
/// Declares a property of <see cref="GatewayOptions"/> (or of a section's class, <see cref="ConfigSectionAttribute"/>) as
/// one key of the gateway's configuration file. The property's type is the key's type (<see cref="GatewayConfigKeys"/>
/// lists the types the loader reads) and its initial value the default; this attribute holds the rest. Everything about
/// a key is written here once: the loader and the key table of docs/configuration.md are both derived from it.
/// </summary>
/// <param name="path">The dotted YAML path, e.g. <c>http.maxConnections</c>; in a section's class, below the section's path.</param>
/// <param name="doc">One Markdown line for the docs table's "meaning" column: what the key does, not its range or default (generated from the rest).</param>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = false)]
internal sealed class ConfigKeyAttribute(string path, string doc) : Attribute
{
    /// <summary>The dotted YAML path.</summary>
    public string Path { get; } = path;

    /// <summary>One Markdown line for the docs table.</summary>
    public string Doc { get; } = doc;

    /// <summary>Integers: the least value accepted (default: the property type's least).</summary>
    public long Min { get; set; } = long.MinValue;

    /// <summary>Integers: the greatest value accepted (default: the property type's greatest).</summary>
    public long Max { get; set; } = long.MaxValue;

    /// <summary>Integers: appended to the range error, e.g. <c>(0 = never)</c>.</summary>
    public string? RangeHint { get; set; }

    /// <summary>The unit shown in the docs (<c>seconds</c>, <c>bytes</c>, <c>MiB</c>); not parsed.</summary>
    public string? Unit { get; set; }

    /// <summary>Strings, and each item of a list of strings: what the text must be besides a string.</summary>
    public ConfigFormat Format { get; set; }

    /// <summary>
    /// <see cref="TimeSpan"/> keys written as a plain integer of this unit (<c>timeoutSeconds: 30</c>), within
    /// <see cref="Min"/>–<see cref="Max"/>, instead of a duration with a unit.
    /// </summary>
    public ConfigTimeUnit TimeUnit { get; set; }

    /// <summary>Durations: the longest accepted, in the file's own syntax (<c>24h</c>); a duration must be more than 0.</summary>
    public string? MaxDuration { get; set; }

    /// <summary>The docs' "default" cell when the initial value does not say it (a null that means "off" or "open").</summary>
    public string? DefaultText { get; set; }

    /// <summary>
    /// The value taken when the key's parent mapping is in the file but the key is not (<c>syslog.tls.address</c>:
    /// writing <c>syslog.tls</c> turns the listener on at its conventional port).
    /// </summary>
    public string? DefaultInSection { get; set; }
}
