using System.Reflection;

namespace Flotel.Gateway.Configuration;

/// <summary>
/// One declared key: its <see cref="ConfigKeyAttribute"/>, the property it fills (of the options class of its
/// <see cref="ConfigKeySet"/>, or of the class of the <see cref="ConfigSection"/> it is declared in) and its kind.
/// </summary>
internal sealed class ConfigKey
{
    private readonly Type _rootType;

    internal ConfigKey(ConfigKeyAttribute declaration, string path, PropertyInfo property, ConfigKeyKind kind, ConfigSection? section, Type rootType)
    {
        _rootType = rootType;
        Declaration = declaration;
        Path = path;
        Property = property;
        Kind = kind;
        Section = section;
    }

    /// <summary>The dotted path from the file's top: the section's path, then the declared one.</summary>
    public string Path { get; }

    /// <summary>The last segment of <see cref="Path"/>, as range messages quote it.</summary>
    public string Name => Path[(Path.LastIndexOf('.') + 1)..];

    public ConfigKeyAttribute Declaration { get; }

    public PropertyInfo Property { get; }

    public ConfigKeyKind Kind { get; }

    /// <summary>The section whose object holds <see cref="Property"/>; null = the options class itself.</summary>
    public ConfigSection? Section { get; }

    /// <summary>Integers: the accepted range, the declared one within the property type's.</summary>
    public (long Min, long Max) Range => Property.PropertyType == typeof(int)
        ? (Math.Max(Declaration.Min, int.MinValue), Math.Min(Declaration.Max, int.MaxValue))
        : (Declaration.Min, Declaration.Max);

    /// <summary>The value a fresh options object holds: the default.</summary>
    public object? DefaultValue => Property.GetValue(Section is null ? Activator.CreateInstance(_rootType) : Activator.CreateInstance(Section.Type));

    /// <summary>The key's value in <paramref name="options"/>; its default when the file did not hold its section.</summary>
    public object? Get(object options) =>
        (Section is null ? options : Section.Find(options)) is { } owner ? Property.GetValue(owner) : DefaultValue;

    /// <summary>
    /// Sets the key's value in <paramref name="options"/>, creating its section when absent. Integers are narrowed to
    /// the property's type (within <see cref="Range"/>); a list replaces the list's items.
    /// </summary>
    public void Set(object options, object? value)
    {
        var owner = Section is null ? options : Section.Ensure(options);
        if (value is IEnumerable<string> items && Property.GetValue(owner) is List<string> list)
        {
            list.Clear();
            list.AddRange(items);
            return;
        }

        Property.SetValue(owner, value is long number && Property.PropertyType == typeof(int) ? checked((int)number) : value);
    }
}
