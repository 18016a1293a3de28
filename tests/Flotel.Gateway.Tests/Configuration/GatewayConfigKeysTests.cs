using System.Reflection;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.Elasticsearch;
using Flotel.Gateway.Outputs.InfluxDb;
using Flotel.Gateway.Outputs.RemoteWrite;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Gateway.Outputs.Timestream;

namespace Flotel.Gateway.Tests.Configuration;

public sealed class GatewayConfigKeysTests
{
    [Fact]
    public void EverySettableOption_IsADeclaredKeyOrSection()
    {
        var declared = GatewayConfigKeys.All.Select(k => k.Property).ToHashSet();
        var types = GatewayConfigKeys.All.Select(k => k.Section?.Type).OfType<Type>().Append(typeof(GatewayOptions)).Distinct().ToList();
        Assert.Contains(typeof(FleetOptions), types);

        foreach (var type in types)
        {
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                Assert.True(declared.Contains(property) || property.GetCustomAttribute<ConfigSectionAttribute>() is not null,
                    $"{type.Name}.{property.Name} has no [ConfigKey]: the file cannot set it and the docs do not list it");
            }
        }
    }

    [Fact]
    public void FleetKeys_AreDeclaredOneByOne_BelowTheirSection()
    {
        var fleet = GatewayConfigKeys.All.Where(k => k.Section?.Path == "fleet").ToList();

        Assert.Equal(
            [
                "fleet.enabled", "fleet.address", "fleet.serverNames", "fleet.ca.certificate", "fleet.ca.key", "fleet.certificateDays",
                "fleet.renewGraceDays", "fleet.offlineAfterSeconds", "fleet.maxHeldPolls", "fleet.pollIntervalSeconds",
            ],
            fleet.Select(k => k.Path));
        Assert.Equal(
            [
                ConfigKeyKind.Boolean, ConfigKeyKind.Text, ConfigKeyKind.TextList, ConfigKeyKind.Text, ConfigKeyKind.Text, ConfigKeyKind.Integer,
                ConfigKeyKind.Integer, ConfigKeyKind.Integer, ConfigKeyKind.Integer, ConfigKeyKind.Integer,
            ],
            fleet.Select(k => k.Kind));
        Assert.DoesNotContain(GatewayConfigKeys.All, k => k.Path == "fleet");
        Assert.Equal(ConfigKeyKind.Enum, GatewayConfigKeys.All.Single(k => k.Path == "query.prometheus.labelNames").Kind);
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
                    Assert.True(
                        declaration.DefaultText is not null || declaration.DefaultInSection is not null,
                        $"{key.Path}: a null default needs DefaultText");
                    break;
                case int or long:
                    var (min, max) = key.Range;
                    Assert.InRange(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture), min, max);
                    break;
                case string text:
                    Assert.Null(GatewayConfigLoader.TextProblem(text, declaration));
                    break;
                case List<string> items:
                    Assert.All(items, item => Assert.Null(GatewayConfigLoader.TextProblem(item, declaration)));
                    break;
                case Enum member:
                    Assert.Equal(member, ConfigEnum.Parse(member.GetType(), ConfigEnum.Spell(member)));
                    break;
                case TimeSpan duration:
                    Assert.InRange(duration, TimeSpan.FromTicks(1), GatewayConfigLoader.ParseDuration(declaration.MaxDuration!)!.Value);
                    break;
            }

            if (declaration.DefaultInSection is { } inSection)
            {
                Assert.Null(GatewayConfigLoader.TextProblem(inSection, declaration));
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
            case Enum member:
                var names = ConfigEnum.Names(member.GetType());
                var spelled = names.First(n => n != ConfigEnum.Spell(member));
                return (spelled, ConfigEnum.Parse(member.GetType(), spelled)!);
            case List<string> when declaration.Format == ConfigFormat.Text:
                return ("[gateway.example, \"10.0.0.1\"]", new List<string> { "gateway.example", "10.0.0.1" });
            case string or null when declaration.Format == ConfigFormat.ExistingFile:
                return null; // needs a file and its partner key (fleet.ca): ConfigKeyKindsTests
            case string:
                var value = declaration.Format switch
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

    private enum Mode
    {
        Strict,
        LenientIfAsked,
    }

    [Fact]
    public void AnEnum_IsSpelledInCamelCase_AndOnlySo()
    {
        Assert.Equal(["strict", "lenientIfAsked"], ConfigEnum.Names(typeof(Mode)));
        Assert.Equal("lenientIfAsked", ConfigEnum.Spell(Mode.LenientIfAsked));
        Assert.Equal(Mode.LenientIfAsked, ConfigEnum.Parse(typeof(Mode), "lenientIfAsked"));
        Assert.Null(ConfigEnum.Parse(typeof(Mode), "Strict"));
        Assert.Null(ConfigEnum.Parse(typeof(Mode), "lenientifasked"));
        Assert.Null(ConfigEnum.Parse(typeof(Mode), "0"));
        Assert.Equal("`mode` must be one of strict, lenientIfAsked; got 'Strict'", ConfigEnum.Problem(typeof(Mode), "mode", "Strict"));
    }

    [Fact]
    public void AnAddressKey_RefusesTextWithoutAPort()
    {
        var declaration = new ConfigKeyAttribute("fleet.address", "where") { Format = ConfigFormat.Address };

        Assert.Equal("'fleet' is not an address; use HOST:PORT, e.g. 0.0.0.0:9443 or [::1]:9443", GatewayConfigLoader.TextProblem("fleet", declaration, "0.0.0.0:9443"));
        Assert.Equal("'fleet' is not an address; use HOST:PORT, e.g. 0.0.0.0:PORT or [::1]:PORT", GatewayConfigLoader.TextProblem("fleet", declaration));
    }

    [Fact]
    public void OutputKeys_IncludeTheSharedHttpKeys_InTheEntrysOwnMapping()
    {
        var keys = ConfigKeySet.For(typeof(RemoteWriteOptions));

        Assert.Equal(
            ["url", "timeoutSeconds", "auth", "headers", "tls", "minBackoffMs", "maxBackoffSeconds", "maxSamplesPerSend"],
            keys.Root.Children.Select(c => c.Name));
        Assert.Equal(["tls.caFile", "tls.insecureSkipVerify"], keys.All.Where(k => k.Path.StartsWith("tls.", StringComparison.Ordinal)).Select(k => k.Path));
        Assert.Equal(ConfigKeyKind.IntegerDuration, keys.All.Single(k => k.Path == "minBackoffMs").Kind);
        Assert.Equal(ConfigKeyKind.Url, keys.All.Single(k => k.Path == "url").Kind);
        Assert.Equal(ConfigKeyKind.TextMap, keys.All.Single(k => k.Path == "headers").Kind);
    }

    [Theory]
    [InlineData(typeof(EverySettableOutputOption), null)]
    [InlineData(typeof(SecondsWithoutRange), "a duration in whole seconds or milliseconds declares its Min (1 or more) and Max")]
    [InlineData(typeof(MapOfCheckedNames), null)]
    [InlineData(typeof(MapOfAddresses), "a map's names are HTTP header names (Format = HeaderName) or any text, checked by the owner")]
    [InlineData(typeof(HeaderNameOnAString), "a map's names are HTTP header names (Format = HeaderName) or any text, checked by the owner")]
    [InlineData(typeof(BaseUrlOnAString), "BaseUrl is for URL keys only")]
    [InlineData(typeof(UrlOfAddresses), "a URL key is any http(s) URL (Format = Text) or one without a path (Format = BaseUrl)")]
    [InlineData(typeof(OutputsInsideAnOutput), "outputs are listed at the top of the file only")]
    public void OutputDeclarations_TheLoaderCouldNotHonour_FailWhenTheTypeIsDefined(Type options, string? problem)
    {
        var error = Record.Exception(() => ConfigKeySet.For(options));

        if (problem is null)
        {
            Assert.Null(error);
        }
        else
        {
            Assert.Contains(problem, Assert.IsType<InvalidOperationException>(error).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void EverySettableOutputOption_IsADeclaredKey()
    {
        Type[] types = [typeof(ElasticsearchOptions), typeof(InfluxDbOptions), typeof(RemoteWriteOptions), typeof(TimestreamOptions)];
        types = [.. types, typeof(HttpOutputSettings)];
        foreach (var type in types)
        {
            var declared = ConfigKeySet.For(type == typeof(HttpOutputSettings) ? typeof(RemoteWriteOptions) : type).All.Select(k => k.Property).ToHashSet();
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var settable = property.SetMethod is { IsPublic: true } && property.Name != nameof(OutputOptions.Name);
                Assert.True(!settable || declared.Contains(property), $"{type.Name}.{property.Name} has no [ConfigKey]: the file cannot set it");
            }
        }
    }

    private sealed class EverySettableOutputOption
    {
        [ConfigKey("wait", "d", TimeUnit = ConfigTimeUnit.Milliseconds, Min = 1, Max = 10)]
        public TimeSpan Wait { get; set; } = TimeSpan.FromMilliseconds(5);

        [ConfigKey("extra", "d", Format = ConfigFormat.HeaderName)]
        public IReadOnlyDictionary<string, string> Extra { get; set; } = new Dictionary<string, string>();
    }

    private sealed class SecondsWithoutRange
    {
        [ConfigKey("wait", "d", TimeUnit = ConfigTimeUnit.Seconds)]
        public TimeSpan Wait { get; set; } = TimeSpan.FromSeconds(5);
    }

    private sealed class MapOfCheckedNames
    {
        [ConfigKey("extra", "d")]
        public IReadOnlyDictionary<string, string> Extra { get; set; } = new Dictionary<string, string>();

        [ConfigKey("base", "d", Format = ConfigFormat.BaseUrl, DefaultText = "none")]
        public Uri? Base { get; set; }
    }

    private sealed class MapOfAddresses
    {
        [ConfigKey("extra", "d", Format = ConfigFormat.Address)]
        public IReadOnlyDictionary<string, string> Extra { get; set; } = new Dictionary<string, string>();
    }

    private sealed class HeaderNameOnAString
    {
        [ConfigKey("extra", "d", Format = ConfigFormat.HeaderName)]
        public string Extra { get; set; } = string.Empty;
    }

    private sealed class BaseUrlOnAString
    {
        [ConfigKey("extra", "d", Format = ConfigFormat.BaseUrl)]
        public string Extra { get; set; } = string.Empty;
    }

    private sealed class UrlOfAddresses
    {
        [ConfigKey("extra", "d", Format = ConfigFormat.Address)]
        public Uri? Extra { get; set; }
    }

    private sealed class OutputsInsideAnOutput
    {
        [ConfigKey("outputs", "d")]
        public List<OutputOptions> Outputs { get; } = [];
    }
}
