using System.Reflection;

namespace Flotel.Gateway.Configuration;

/// <summary>
/// The keys of the gateway's configuration file, as <see cref="GatewayOptions"/> declares them
/// (<see cref="ConfigKeyAttribute"/>), in declaration order, and the tree of YAML mappings they form. What a key's
/// property type makes it:
/// <list type="bullet">
/// <item><c>string</c>: a scalar, checked by <see cref="ConfigKeyAttribute.Format"/> and <see cref="ConfigKeyAttribute.Values"/>;</item>
/// <item><c>int</c>, <c>long</c>: a plain integer within <see cref="ConfigKeyAttribute.Min"/>–<see cref="ConfigKeyAttribute.Max"/>;</item>
/// <item><c>bool</c>: <c>true</c> or <c>false</c>;</item>
/// <item><see cref="TimeSpan"/>: a duration with a unit (<c>1m30s</c>), more than 0, at most <see cref="ConfigKeyAttribute.MaxDuration"/>;</item>
/// <item><see cref="TlsOptions"/>: a mapping of <c>certificate</c>, <c>key</c>, <c>clientCa</c> (existing PEM files);</item>
/// <item><see cref="AuthOptions"/>: a mapping of <c>username</c> + <c>password</c>, or <c>bearerToken</c>;</item>
/// <item>the <c>outputs</c> list, read through the output registry.</item>
/// </list>
/// A new type is one more case here, in the loader and in the docs generator.
/// </summary>
internal static class GatewayConfigKeys
{
    /// <summary>Every key, in the order <see cref="GatewayOptions"/> declares them.</summary>
    public static IReadOnlyList<ConfigKey> All { get; } = Declared();

    /// <summary>The file's top-level mapping: every key hangs below it by its path.</summary>
    internal static ConfigNode Root { get; } = Tree(All);

    private static List<ConfigKey> Declared()
    {
        var keys = new List<ConfigKey>();

        // Metadata tokens follow declaration order, which GetProperties does not promise.
        foreach (var property in typeof(GatewayOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken))
        {
            if (property.GetCustomAttribute<ConfigKeyAttribute>() is { } declaration)
            {
                var key = new ConfigKey(declaration, property, KindOf(property));
                Check(key);
                keys.Add(key);
            }
        }

        return keys;
    }

    /// <summary>A declaration the loader or the docs could not honour fails the first load, in every test, not in a user's hands.</summary>
    private static void Check(ConfigKey key)
    {
        var d = key.Declaration;
        string? problem = null;
        if (key.Kind != ConfigKeyKind.Text && (d.Format != ConfigFormat.Text || d.Values is not null || d.DefaultInSection is not null))
        {
            problem = "Format, Values and DefaultInSection apply to string keys only";
        }
        else if (key.Kind != ConfigKeyKind.Integer && (d.Min != long.MinValue || d.Max != long.MaxValue || d.RangeHint is not null))
        {
            problem = "Min, Max and RangeHint apply to integer keys only";
        }
        else if (key.Kind == ConfigKeyKind.Integer && key.Range.Min > key.Range.Max)
        {
            problem = "Min is greater than Max";
        }
        else if ((key.Kind == ConfigKeyKind.Duration) != (d.MaxDuration is not null)
            || (d.MaxDuration is not null && GatewayConfigLoader.ParseDuration(d.MaxDuration) is null))
        {
            problem = "a duration key needs a MaxDuration such as 24h, and only a duration key has one";
        }
        else if (key.Property.SetMethod is null && key.Kind != ConfigKeyKind.Outputs)
        {
            problem = "the property has no setter";
        }

        if (problem is not null)
        {
            throw new InvalidOperationException($"configuration key '{key.Path}' (GatewayOptions.{key.Property.Name}): {problem}");
        }
    }

    private static ConfigKeyKind KindOf(PropertyInfo property)
    {
        var type = property.PropertyType;
        return type == typeof(string) ? ConfigKeyKind.Text
            : type == typeof(int) || type == typeof(long) ? ConfigKeyKind.Integer
            : type == typeof(bool) ? ConfigKeyKind.Boolean
            : type == typeof(TimeSpan) ? ConfigKeyKind.Duration
            : type == typeof(TlsOptions) ? ConfigKeyKind.Tls
            : type == typeof(AuthOptions) ? ConfigKeyKind.Credentials
            : type == typeof(List<OutputOptions>) ? ConfigKeyKind.Outputs
            : type == typeof(FleetOptions) ? ConfigKeyKind.Fleet
            : throw new InvalidOperationException($"GatewayOptions.{property.Name}: the configuration loader reads no {type.Name}");
    }

    private static ConfigNode Tree(IReadOnlyList<ConfigKey> keys)
    {
        var root = new ConfigNode(string.Empty);
        foreach (var key in keys)
        {
            var node = root;
            foreach (var segment in key.Path.Split('.'))
            {
                node = node.Child(segment);
            }

            if (node.Key is not null)
            {
                throw new InvalidOperationException($"configuration key '{key.Path}' is declared twice");
            }

            node.Key = key;
        }

        return root;
    }
}
