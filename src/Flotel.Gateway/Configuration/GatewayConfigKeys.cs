using System.Reflection;

namespace Flotel.Gateway.Configuration;

/// <summary>
/// The keys of the gateway's configuration file, as <see cref="GatewayOptions"/> declares them
/// (<see cref="ConfigKeyAttribute"/>, and the keys of each <see cref="ConfigSectionAttribute"/> where it stands), in
/// declaration order, and the tree of YAML mappings they form. What a key's property type makes it:
/// <list type="bullet">
/// <item><c>string</c>: a scalar, checked by <see cref="ConfigKeyAttribute.Format"/>;</item>
/// <item><c>List&lt;string&gt;</c>: a list of scalars, each checked by <see cref="ConfigKeyAttribute.Format"/>;</item>
/// <item>an enum: one of its members, spelled in camelCase (<see cref="ConfigEnum"/>);</item>
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
    /// <summary>Every key, in the order <see cref="GatewayOptions"/> declares them (a section's keys where the section stands).</summary>
    public static IReadOnlyList<ConfigKey> All { get; } = Declared();

    /// <summary>The file's top-level mapping: every key hangs below it by its path.</summary>
    internal static ConfigNode Root { get; } = Tree(All);

    private static List<ConfigKey> Declared()
    {
        var keys = new List<ConfigKey>();
        Collect(typeof(GatewayOptions), null, keys);
        return keys;
    }

    private static void Collect(Type type, ConfigSection? section, List<ConfigKey> keys)
    {
        // Metadata tokens follow declaration order, which GetProperties does not promise.
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken))
        {
            if (property.GetCustomAttribute<ConfigKeyAttribute>() is { } declaration)
            {
                var key = new ConfigKey(declaration, Under(section, declaration.Path), property, KindOf(property), section);
                Check(key);
                keys.Add(key);
            }
            else if (property.GetCustomAttribute<ConfigSectionAttribute>() is { } declared)
            {
                var inner = new ConfigSection(Under(section, declared.Path), property, section);
                CheckSection(inner, property);
                Collect(property.PropertyType, inner, keys);
            }
        }
    }

    private static string Under(ConfigSection? section, string path) => section is null ? path : section.Path + "." + path;

    /// <summary>A declaration the loader or the docs could not honour fails the first load, in every test, not in a user's hands.</summary>
    private static void Check(ConfigKey key)
    {
        var d = key.Declaration;
        var isList = key.Kind is ConfigKeyKind.Outputs or ConfigKeyKind.TextList;
        string? problem = null;
        if (key.Kind is not (ConfigKeyKind.Text or ConfigKeyKind.TextList) && d.Format != ConfigFormat.Text)
        {
            problem = "Format applies to string keys and lists of strings only";
        }
        else if (key.Kind != ConfigKeyKind.Text && d.DefaultInSection is not null)
        {
            problem = "DefaultInSection applies to string keys only";
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
        else if (isList && key.Property.SetMethod is not null)
        {
            problem = "a list is a get-only property initialised to an empty list: the loader fills it in place";
        }
        else if (!isList && key.Property.SetMethod is null)
        {
            problem = "the property has no setter";
        }
        else if (key.Kind == ConfigKeyKind.Enum && Enum.GetNames(key.Property.PropertyType).Length == 0)
        {
            problem = "the enum has no members";
        }

        if (problem is not null)
        {
            throw new InvalidOperationException($"configuration key '{key.Path}' ({key.Property.DeclaringType?.Name}.{key.Property.Name}): {problem}");
        }
    }

    private static void CheckSection(ConfigSection section, PropertyInfo property)
    {
        if (property.SetMethod is null || !section.Type.IsClass || section.Type.GetConstructor(Type.EmptyTypes) is null)
        {
            throw new InvalidOperationException(
                $"configuration section '{section.Path}' ({property.DeclaringType?.Name}.{property.Name}): a section is a settable property of a class with a public parameterless constructor");
        }
    }

    private static ConfigKeyKind KindOf(PropertyInfo property)
    {
        var type = property.PropertyType;
        return type == typeof(string) ? ConfigKeyKind.Text
            : type == typeof(List<string>) ? ConfigKeyKind.TextList
            : type.IsEnum ? ConfigKeyKind.Enum
            : type == typeof(int) || type == typeof(long) ? ConfigKeyKind.Integer
            : type == typeof(bool) ? ConfigKeyKind.Boolean
            : type == typeof(TimeSpan) ? ConfigKeyKind.Duration
            : type == typeof(TlsOptions) ? ConfigKeyKind.Tls
            : type == typeof(AuthOptions) ? ConfigKeyKind.Credentials
            : type == typeof(List<OutputOptions>) ? ConfigKeyKind.Outputs
            : throw new InvalidOperationException($"{property.DeclaringType?.Name}.{property.Name}: the configuration loader reads no {type.Name}");
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
            for (var section = key.Section; section is not null; section = section.Parent)
            {
                Find(root, section.Path).Section = section;
            }
        }

        return root;
    }

    private static ConfigNode Find(ConfigNode root, string path)
    {
        var node = root;
        foreach (var segment in path.Split('.'))
        {
            node = node.Find(segment)!;
        }

        return node;
    }
}
