using System.Reflection;

namespace Flotel.Gateway.Configuration;

/// <summary>One declared key: its <see cref="ConfigKeyAttribute"/>, the <see cref="GatewayOptions"/> property it fills and its kind.</summary>
internal sealed class ConfigKey
{
    internal ConfigKey(ConfigKeyAttribute declaration, PropertyInfo property, ConfigKeyKind kind)
    {
        Declaration = declaration;
        Property = property;
        Kind = kind;
    }

    /// <summary>The dotted path.</summary>
    public string Path => Declaration.Path;

    /// <summary>The last segment of <see cref="Path"/>, as range messages quote it.</summary>
    public string Name => Path[(Path.LastIndexOf('.') + 1)..];

    public ConfigKeyAttribute Declaration { get; }

    public PropertyInfo Property { get; }

    public ConfigKeyKind Kind { get; }

    /// <summary>Integers: the accepted range, the declared one within the property type's.</summary>
    public (long Min, long Max) Range => Property.PropertyType == typeof(int)
        ? (Math.Max(Declaration.Min, int.MinValue), Math.Min(Declaration.Max, int.MaxValue))
        : (Declaration.Min, Declaration.Max);

    /// <summary>The value a fresh <see cref="GatewayOptions"/> holds: the default.</summary>
    public object? DefaultValue => Property.GetValue(new GatewayOptions());

    /// <summary>The key's value in <paramref name="options"/>.</summary>
    public object? Get(GatewayOptions options) => Property.GetValue(options);

    /// <summary>Sets the key's value in <paramref name="options"/> (integers are narrowed to the property's type, within <see cref="Range"/>).</summary>
    public void Set(GatewayOptions options, object? value) =>
        Property.SetValue(options, value is long number && Property.PropertyType == typeof(int) ? checked((int)number) : value);
}
