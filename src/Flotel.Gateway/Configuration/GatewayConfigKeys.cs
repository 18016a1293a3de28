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
/// <item>the <c>outputs</c> list, read through the output registry;</item>
/// <item><see cref="Uri"/>: an absolute <c>http://</c> or <c>https://</c> URL, without a path with <see cref="ConfigFormat.BaseUrl"/>;</item>
/// <item><c>IReadOnlyDictionary&lt;string, string&gt;</c>: a mapping of names to strings, the names HTTP header names
/// (<see cref="ConfigFormat.HeaderName"/>) or kept as written for the options' <c>ValidateKeys</c> (<see cref="ConfigFormat.Text"/>);</item>
/// <item><see cref="Flotel.Model.SecretValue"/>: a string, checked as a string key's value, that logs as <c>***</c>;</item>
/// <item><see cref="TimeSpan"/> with a <see cref="ConfigKeyAttribute.TimeUnit"/>: a plain integer of that unit within Min–Max.</item>
/// </list>
/// A new type is one more case here, in the loader and in the docs generator. The same declarations describe an output
/// type's entry of <c>outputs:</c> (<see cref="ConfigKeySet.For"/> of its options class).
/// </summary>
internal static class GatewayConfigKeys
{
    private static readonly ConfigKeySet Set = ConfigKeySet.For(typeof(GatewayOptions));

    /// <summary>Every key, in the order <see cref="GatewayOptions"/> declares them (a section's keys where the section stands).</summary>
    public static IReadOnlyList<ConfigKey> All => Set.All;

    /// <summary>The file's top-level mapping: every key hangs below it by its path.</summary>
    internal static ConfigNode Root => Set.Root;
}

/// <summary>
/// The declared keys of one options class (<see cref="GatewayOptions"/>, or an output type's options read from one entry
/// of <c>outputs:</c>), in declaration order, and the tree of mappings they form below the class's own mapping.
/// </summary>
internal sealed class ConfigKeySet
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, ConfigKeySet> Sets = new();

    private ConfigKeySet(Type rootType)
    {
        RootType = rootType;
        var keys = new List<ConfigKey>();
        Collect(rootType, null, keys);
        All = keys;
        Root = Tree(keys);
    }

    /// <summary>The options class the keys fill.</summary>
    public Type RootType { get; }

    /// <summary>Every key, in declaration order (a section's keys where the section stands).</summary>
    public IReadOnlyList<ConfigKey> All { get; }

    /// <summary>The class's own mapping: every key hangs below it by its path.</summary>
    internal ConfigNode Root { get; }

    /// <summary>The keys <paramref name="rootType"/> declares; a declaration the loader could not honour throws here.</summary>
    public static ConfigKeySet For(Type rootType) => Sets.GetOrAdd(rootType, static t => new ConfigKeySet(t));

    private void Collect(Type type, ConfigSection? section, List<ConfigKey> keys)
    {
        // Metadata tokens follow declaration order, which GetProperties does not promise.
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken))
        {
            if (property.GetCustomAttribute<ConfigKeyAttribute>() is { } declaration)
            {
                var key = new ConfigKey(declaration, Under(section, declaration.Path), property, KindOf(property, declaration), section, RootType);
                Check(key);
                keys.Add(key);
            }
            else if (property.GetCustomAttribute<ConfigSectionAttribute>() is { } declared)
            {
                var inner = declared.Path.Length == 0
                    ? new ConfigSection(section?.Path ?? string.Empty, property, section, inline: true)
                    : new ConfigSection(Under(section, declared.Path), property, section, inline: false);
                CheckSection(inner, property);
                Collect(property.PropertyType, inner, keys);
            }
        }
    }

    private static string Under(ConfigSection? section, string path) => section is null || section.Path.Length == 0 ? path : section.Path + "." + path;

    /// <summary>A declaration the loader or the docs could not honour fails the first load, in every test, not in a user's hands.</summary>
    private void Check(ConfigKey key)
    {
        var d = key.Declaration;
        var isList = key.Kind is ConfigKeyKind.Outputs or ConfigKeyKind.TextList;
        var takesFormat = key.Kind is ConfigKeyKind.Text or ConfigKeyKind.TextList or ConfigKeyKind.TextMap or ConfigKeyKind.Secret or ConfigKeyKind.Url;
        var isInteger = key.Kind is ConfigKeyKind.Integer or ConfigKeyKind.IntegerDuration;
        string? problem = null;
        if (!takesFormat && d.Format != ConfigFormat.Text)
        {
            problem = "Format applies to string, secret, list, map and URL keys only";
        }
        else if ((d.Format == ConfigFormat.HeaderName && key.Kind != ConfigKeyKind.TextMap)
            || (key.Kind == ConfigKeyKind.TextMap && d.Format is not (ConfigFormat.HeaderName or ConfigFormat.Text)))
        {
            problem = "a map's names are HTTP header names (Format = HeaderName) or any text, checked by the owner (Format = Text)";
        }
        else if ((d.Format == ConfigFormat.BaseUrl && key.Kind != ConfigKeyKind.Url)
            || (key.Kind == ConfigKeyKind.Url && d.Format is not (ConfigFormat.Text or ConfigFormat.BaseUrl)))
        {
            problem = "a URL key is any http(s) URL (Format = Text) or one without a path (Format = BaseUrl), and BaseUrl is for URL keys only";
        }
        else if (key.Kind == ConfigKeyKind.Outputs && RootType != typeof(GatewayOptions))
        {
            problem = "outputs are listed at the top of the file only";
        }
        else if (key.Kind != ConfigKeyKind.Text && d.DefaultInSection is not null)
        {
            problem = "DefaultInSection applies to string keys only";
        }
        else if (!isInteger && (d.Min != long.MinValue || d.Max != long.MaxValue || d.RangeHint is not null))
        {
            problem = "Min, Max and RangeHint apply to integer keys only";
        }
        else if (d.TimeUnit != ConfigTimeUnit.None && key.Kind != ConfigKeyKind.IntegerDuration)
        {
            problem = "TimeUnit applies to TimeSpan keys only";
        }
        else if (key.Kind == ConfigKeyKind.IntegerDuration && (d.Min < 1 || d.Max == long.MaxValue))
        {
            problem = "a duration in whole seconds or milliseconds declares its Min (1 or more) and Max";
        }
        else if (isInteger && key.Range.Min > key.Range.Max)
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
        else if (key.Kind == ConfigKeyKind.TextMap && key.Property.PropertyType != typeof(IReadOnlyDictionary<string, string>))
        {
            problem = "a map is an IReadOnlyDictionary<string, string> property";
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
        if (section.IsInline)
        {
            // Its keys sit in the owner's own mapping: the object is always there (initialised by the owner), never created.
            if (property.SetMethod is not null || !section.Type.IsClass || section.Type.GetConstructor(Type.EmptyTypes) is null)
            {
                throw new InvalidOperationException(
                    $"configuration section ({property.DeclaringType?.Name}.{property.Name}): keys included from a class are a get-only "
                    + "property, initialised, of a class with a public parameterless constructor");
            }

            return;
        }

        if (property.SetMethod is null || !section.Type.IsClass || section.Type.GetConstructor(Type.EmptyTypes) is null)
        {
            throw new InvalidOperationException(
                $"configuration section '{section.Path}' ({property.DeclaringType?.Name}.{property.Name}): "
                + "a section is a settable property of a class with a public parameterless constructor");
        }
    }

    private static ConfigKeyKind KindOf(PropertyInfo property, ConfigKeyAttribute declaration)
    {
        var type = property.PropertyType;
        return type == typeof(string) ? ConfigKeyKind.Text
            : type == typeof(TimeSpan) && declaration.TimeUnit != ConfigTimeUnit.None ? ConfigKeyKind.IntegerDuration
            : type == typeof(Uri) ? ConfigKeyKind.Url
            : type == typeof(IReadOnlyDictionary<string, string>) ? ConfigKeyKind.TextMap
            : type == typeof(Flotel.Model.SecretValue) ? ConfigKeyKind.Secret
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
                if (!section.IsInline)
                {
                    Find(root, section.Path).Section = section;
                }
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
