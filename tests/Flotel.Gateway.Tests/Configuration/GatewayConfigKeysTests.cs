using System.Reflection;
using Flotel.Gateway.Configuration;

namespace Flotel.Gateway.Tests.Configuration;

public sealed class GatewayConfigKeysTests
{
    [Fact]
    public void EverySettableOption_IsADeclaredKey()
    {
        var declared = GatewayConfigKeys.All.Select(k => k.Property.Name).ToHashSet(StringComparer.Ordinal);

        foreach (var property in typeof(GatewayOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            Assert.True(declared.Contains(property.Name), $"GatewayOptions.{property.Name} has no [ConfigKey]: the file cannot set it and the docs do not list it");
        }
    }

    [Fact]
    public void Keys_AreInDeclarationOrder_AndFormTheFilesTopLevel()
    {
        Assert.Equal("http.address", GatewayConfigKeys.All[0].Path);
        Assert.Equal("outputs", GatewayConfigKeys.All[^1].Path);
        Assert.Equal(["http", "syslog", "data", "queue", "auth", "store", "query", "fleet", "outputs"], GatewayConfigKeys.Root.Children.Select(c => c.Name));
        Assert.Equal(GatewayConfigKeys.All.Count, GatewayConfigKeys.All.Select(k => k.Path).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void EveryDefault_PassesItsOwnKeysChecks()
    {
        foreach (var key in GatewayConfigKeys.All)
        {
            var value = key.DefaultValue;
            var declaration = key.Declaration;
            Assert.False(string.IsNullOrWhiteSpace(declaration.Doc), key.Path);
            Assert.All(key.Path.Split('.'), segment => Assert.Matches("^[a-z][A-Za-z0-9]*$", segment));
            switch (value)
            {
                case null:
                    Assert.True(declaration.DefaultText is not null || declaration.DefaultInSection is not null, $"{key.Path}: a null default needs DefaultText");
                    break;
                case int or long:
                    var (min, max) = key.Range;
                    Assert.InRange(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture), min, max);
                    break;
                case string text:
                    Assert.Null(GatewayConfigLoader.TextProblem(text, key.Path, declaration));
                    break;
                case TimeSpan duration:
                    Assert.InRange(duration, TimeSpan.FromTicks(1), GatewayConfigLoader.ParseDuration(declaration.MaxDuration!)!.Value);
                    break;
            }

            if (declaration.DefaultInSection is { } inSection)
            {
                Assert.Null(GatewayConfigLoader.TextProblem(inSection, key.Path, declaration));
            }
        }
    }

    /// <summary>
    /// Each scalar key, written at its path with a value other than its default, reaches its property: the loader needs
    /// nothing but the declaration. Keys inside another key's mapping (<c>syslog.tls.address</c>) need that key's
    /// files and are covered by the recorded answers.
    /// </summary>
    [Fact]
    public void EveryScalarKey_WrittenAtItsPath_SetsItsProperty()
    {
        using var dir = new TempDirectory("flotel-keys-");
        var file = Path.Combine(dir.Path, "gateway.yaml");
        var tried = 0;
        foreach (var key in GatewayConfigKeys.All)
        {
            if (OtherValue(key) is not (var text, var expected) || key.Path.Split('.').Length > 1 && GatewayConfigKeys.All.Any(k => key.Path.StartsWith(k.Path + ".", StringComparison.Ordinal)))
            {
                continue;
            }

            var segments = key.Path.Split('.');
            var yaml = string.Concat(segments.Select((s, i) => new string(' ', 2 * i) + s + (i == segments.Length - 1 ? ": " + text : ":") + "\n"));
            File.WriteAllText(file, yaml);

            var (options, diagnostics) = GatewayConfigLoader.Load(file, _ => null);

            Assert.True(diagnostics.Count == 0, $"{key.Path}: {string.Join("; ", diagnostics)}");
            Assert.Equal(expected, key.Get(options));
            tried++;
        }

        Assert.True(tried >= 20, $"only {tried} keys tried");
    }

    private static (string Text, object Expected)? OtherValue(ConfigKey key)
    {
        var declaration = key.Declaration;
        switch (key.DefaultValue)
        {
            case bool b:
                return (b ? "false" : "true", !b);
            case int or long:
                var (min, max) = key.Range;
                var current = Convert.ToInt64(key.DefaultValue, System.Globalization.CultureInfo.InvariantCulture);
                var other = current == max ? min : max;
                var text = other.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return (text, key.DefaultValue is int ? (object)(int)other : other);
            case TimeSpan:
                return (declaration.MaxDuration!, GatewayConfigLoader.ParseDuration(declaration.MaxDuration!)!.Value);
            case string:
                var value = declaration.Values?[^1] ?? declaration.Format switch
                {
                    ConfigFormat.Address => "127.0.0.1:1",
                    ConfigFormat.Timezone => "+02:00",
                    ConfigFormat.IndexPattern => "other-%{+YYYY}",
                    _ => "/elsewhere",
                };
                return ($"\"{value}\"", value);
            default:
                return null;
        }
    }

    [Fact]
    public void AStringKeyWithValues_AcceptsOnlyThose()
    {
        var declaration = new ConfigKeyAttribute("elasticsearch.mode", "how") { Values = ["strict", "lenient"] };

        Assert.Null(GatewayConfigLoader.TextProblem("lenient", "elasticsearch.mode", declaration));
        Assert.Equal("`mode` must be one of strict, lenient; got 'Strict'", GatewayConfigLoader.TextProblem("Strict", "elasticsearch.mode", declaration));
    }

    [Fact]
    public void AnAddressKey_RefusesTextWithoutAPort()
    {
        var declaration = new ConfigKeyAttribute("fleet.address", "where") { Format = ConfigFormat.Address };

        Assert.Equal("'fleet' is not an address; use HOST:PORT, e.g. 0.0.0.0:5140 or [::1]:5140", GatewayConfigLoader.TextProblem("fleet", "fleet.address", declaration));
    }
}
