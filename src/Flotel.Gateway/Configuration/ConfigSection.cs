using System.Reflection;

namespace Flotel.Gateway.Configuration;

/// <summary>
/// A declared mapping of keys held by an object of its own (<see cref="ConfigSectionAttribute"/>): where that object
/// sits below <see cref="GatewayOptions"/> and how to reach or create it.
/// </summary>
internal sealed class ConfigSection
{
    private readonly PropertyInfo _property;

    internal ConfigSection(string path, PropertyInfo property, ConfigSection? parent, bool inline)
    {
        Path = path;
        _property = property;
        Parent = parent;
        IsInline = inline;
    }

    /// <summary>The dotted path of the mapping (for an inline section, its owner's: "" at the top).</summary>
    public string Path { get; }

    /// <summary>
    /// Declared with an empty path: its class's keys sit in the owner's own mapping (an output's shared HTTP keys), and
    /// its object always exists.
    /// </summary>
    public bool IsInline { get; }

    /// <summary>The class whose properties declare the section's keys.</summary>
    public Type Type => _property.PropertyType;

    /// <summary>The section this one is nested in; null = directly in <see cref="GatewayOptions"/>.</summary>
    public ConfigSection? Parent { get; }

    /// <summary>The section's object in <paramref name="options"/>, or null when the file did not hold its mapping.</summary>
    public object? Find(object options)
    {
        var owner = Parent is null ? options : Parent.Find(options);
        return owner is null ? null : _property.GetValue(owner);
    }

    /// <summary>The section's object in <paramref name="options"/>, created with its defaults (and its parents') when absent.</summary>
    public object Ensure(object options)
    {
        var owner = Parent is null ? options : Parent.Ensure(options);
        if (_property.GetValue(owner) is { } existing)
        {
            return existing;
        }

        // GatewayConfigKeys.Check: a section's class has a public parameterless constructor.
        var created = Activator.CreateInstance(Type)!;
        _property.SetValue(owner, created);
        return created;
    }
}
