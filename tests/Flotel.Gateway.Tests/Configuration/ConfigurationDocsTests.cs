using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs;
using Flotel.Gateway.Outputs.RemoteWrite;

namespace Flotel.Gateway.Tests.Configuration;

/// <summary>
/// docs/configuration.md's gateway key table is what the declarations produce (<see cref="GatewayConfigDocs"/>). With
/// <c>FLOTEL_UPDATE_DOCS=1</c> the test rewrites the table in place instead of failing (docs/style.md, "Generated
/// documentation").
/// </summary>
public sealed class ConfigurationDocsTests
{
    private const string Regenerate = "FLOTEL_UPDATE_DOCS=1 dotnet test tests/Flotel.Gateway.Tests --filter ConfigurationDocs";

    [Fact]
    public void GatewayKeyTable_IsWhatTheDeclarationsProduce()
    {
        var path = Path.Combine(RepoRoot(), "docs", "configuration.md");
        var document = File.ReadAllText(path);
        var generated = GatewayConfigDocs.ReplaceGeneratedSection(document, GatewayConfigDocs.KeyTable());
        if (Environment.GetEnvironmentVariable("FLOTEL_UPDATE_DOCS") == "1")
        {
            if (generated != document)
            {
                File.WriteAllText(path, generated);
            }

            return;
        }

        if (generated != document)
        {
            var have = document.Split('\n');
            var want = generated.Split('\n');
            var line = 0;
            while (line < have.Length && line < want.Length && have[line] == want[line])
            {
                line++;
            }

            Assert.Fail($"docs/configuration.md:{line + 1}: the gateway key table differs from the [ConfigKey] declarations of GatewayOptions; "
                + $"regenerate it with: {Regenerate}\n  in the file: {(line < have.Length ? have[line] : "(end)")}\n  generated:   {(line < want.Length ? want[line] : "(end)")}");
        }
    }

    [Fact]
    public void OutputKeyTables_AreWhatTheDeclarationsProduce()
    {
        var path = Path.Combine(RepoRoot(), "docs", "configuration.md");
        var document = File.ReadAllText(path);
        var generated = document;
        var declaring = OutputRegistry.Default.Definitions.Where(d => d.DeclaresKeys).ToList();
        Assert.NotEmpty(declaring);
        foreach (var definition in declaring)
        {
            generated = GatewayConfigDocs.ReplaceGeneratedSection(generated, GatewayConfigDocs.OutputKeyTable(definition.OptionsType),
                GatewayConfigDocs.OutputBeginMarker(definition.TypeName), GatewayConfigDocs.OutputEndMarker(definition.TypeName));
        }

        if (Environment.GetEnvironmentVariable("FLOTEL_UPDATE_DOCS") == "1")
        {
            if (generated != document)
            {
                File.WriteAllText(path, generated);
            }

            return;
        }

        var have = document.Split('\n');
        var want = generated.Split('\n');
        var line = 0;
        while (line < have.Length && line < want.Length && have[line] == want[line])
        {
            line++;
        }

        Assert.True(generated == document, $"docs/configuration.md:{line + 1}: an output key table differs from the [ConfigKey] declarations "
            + $"of its options; regenerate it with: {Regenerate}\n  in the file: {(line < have.Length ? have[line] : "(end)")}\n"
            + $"  generated:   {(line < want.Length ? want[line] : "(end)")}");
    }

    [Fact]
    public void OutputKeyTable_IncludesTheSharedHttpKeys_WithTheirUnitsAndDefaults()
    {
        var rows = GatewayConfigDocs.OutputKeyTable(typeof(RemoteWriteOptions)).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(ConfigKeySet.For(typeof(RemoteWriteOptions)).All.Count + 2, rows.Length);
        Assert.StartsWith("| `url` | absolute `http://` or `https://` URL | required | ", rows[2], StringComparison.Ordinal);
        Assert.Contains(rows, r => r.StartsWith("| `timeoutSeconds` | seconds, 1–3600 | 30 | ", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("| `minBackoffMs` | milliseconds, 1–600000 | 500 | ", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("| `headers` | map of header → value | none | ", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("| `tls.caFile` | PEM file | system roots | ", StringComparison.Ordinal));
        Assert.StartsWith("| `maxSamplesPerSend` | samples, 1–1000000 | 2000 | ", rows[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void KeyTable_HasOneRowPerDeclaredKey_WithItsDefaultAndRange()
    {
        var rows = GatewayConfigDocs.KeyTable().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(GatewayConfigKeys.All.Count + 2, rows.Length);
        Assert.Contains("| `http.maxConnections` | 1–1000000 | 20000 | ", rows[4], StringComparison.Ordinal);
        Assert.Contains(rows, r => r.StartsWith("| `http.tls.{certificate, key, clientCa}` | PEM files | plain HTTP | ", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("| `syslog.tls.address` | `HOST:PORT` | `0.0.0.0:6514` (with `syslog.tls`) | ", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("| `query.timeout` | duration with a unit (`30s`, `1m30s`, `500ms`), more than 0, at most `24h` | `2m` | ", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("| `store.metrics.maxSeries` | series, 0 or more | 2000000 | ", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("| `data` | directory | `.flotel/gateway` | ", StringComparison.Ordinal));
    }

    [Fact]
    public void ReplaceGeneratedSection_ReplacesOnlyBetweenTheMarkers()
    {
        var document = $"prose before\n{GatewayConfigDocs.BeginMarker}\n| stale |\n{GatewayConfigDocs.EndMarker}\nprose after\n";

        var replaced = GatewayConfigDocs.ReplaceGeneratedSection(document, "| fresh |\n");

        Assert.Equal($"prose before\n{GatewayConfigDocs.BeginMarker}\n| fresh |\n{GatewayConfigDocs.EndMarker}\nprose after\n", replaced);
    }

    [Theory]
    [InlineData("no markers at all\n")]
    [InlineData("<!-- END GENERATED: gateway keys -->\n<!-- BEGIN GENERATED: gateway keys, from the [ConfigKey] declarations of GatewayOptions; regenerate with FLOTEL_UPDATE_DOCS=1 dotnet test tests/Flotel.Gateway.Tests --filter ConfigurationDocs -->\n")]
    public void ReplaceGeneratedSection_WithoutMarkersInOrder_Refuses(string document)
    {
        Assert.Throws<InvalidOperationException>(() => GatewayConfigDocs.ReplaceGeneratedSection(document, "| x |\n"));
    }

    [Theory]
    [InlineData(0, 0, 0, 0, "0s")]
    [InlineData(0, 2, 0, 0, "2m")]
    [InlineData(0, 1, 30, 0, "1m30s")]
    [InlineData(0, 0, 0, 500, "500ms")]
    [InlineData(24, 0, 0, 0, "1d")]
    [InlineData(25, 0, 1, 0, "1d1h1s")]
    public void Duration_IsWrittenInTheFilesSyntax(int hours, int minutes, int seconds, int milliseconds, string expected)
    {
        var duration = new TimeSpan(0, hours, minutes, seconds, milliseconds);

        Assert.Equal(expected, GatewayConfigDocs.Duration(duration));
        Assert.Equal(duration, GatewayConfigLoader.ParseDuration(expected) ?? TimeSpan.Zero);
    }

    /// <summary>The repository root: walking up from the test binaries to the folder holding Flotel.sln.</summary>
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Flotel.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Flotel.sln not found above " + AppContext.BaseDirectory);
    }
}
