namespace Flotel.Gateway.Configuration;

/// <summary>
/// Declares a property of an options class as a mapping of further keys: the property's class declares them with
/// <see cref="ConfigKeyAttribute"/>, their paths relative to <paramref name="path"/> (<c>fleet:</c> holds the keys of
/// <see cref="FleetOptions"/>, so its <c>enabled</c> is the file's <c>fleet.enabled</c>). The property is null until the
/// file holds the mapping; the loader then creates the class with its defaults and sets the keys written.
/// </summary>
/// <remarks>
/// An empty path includes the class's keys in the owner's own mapping: <c>HttpOutputSettings</c> declares the HTTP keys
/// once and every HTTP output's options include them. Such a property is get-only and initialised.
/// </remarks>
/// <param name="path">The dotted YAML path of the mapping, e.g. <c>fleet</c>; empty = the owner's mapping.</param>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = false)]
internal sealed class ConfigSectionAttribute(string path) : Attribute
{
    /// <summary>The dotted YAML path of the mapping.</summary>
    public string Path { get; } = path;
}
