using Flotel.Model.Manifests;
using Flotel.Wire.Manifests;
using static Flotel.Wire.Tests.Manifests.ManifestTestKit;

namespace Flotel.Wire.Tests.Manifests;

/// <summary>Hostile or unusual input: reported, never a crash or a hang.</summary>
public sealed class ManifestLoaderEdgeTests
{
    [Fact]
    public void LoadText_DuplicateYamlKey_ErrorWithLine()
    {
        var yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  Address: a:1\n  Address: b:2\n";

        var error = Single(Load(yaml).Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal(FileName, error.File);
        Assert.InRange(error.Line, 6, 7);
    }

    [Fact]
    public void LoadText_NestedAliasesInPodSpec_PodManifestStaysSmall()
    {
        // Ten levels of 10 aliases would expand to 10^10 strings if re-emitted without anchors.
        var lines = new List<string> { "a0: &a0 [x, x, x, x, x, x, x, x, x, x]" };
        for (var i = 1; i < 10; i++)
        {
            lines.Add($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]");
        }

        var yaml = Replace(Base, "    spec:\n      containers:\n", "    spec:\n      x-bomb:\n" + string.Join("\n", lines.Select(l => "        " + l)) + "\n      containers:\n");

        var started = System.Diagnostics.Stopwatch.StartNew();
        var set = Load(yaml);

        Assert.Empty(set.Diagnostics);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), "loading took " + started.Elapsed);
        Assert.True(set.Workloads[0].PodManifestYaml!.Length < 10_000, "pod manifest is " + set.Workloads[0].PodManifestYaml!.Length + " chars");
        Assert.Contains("*a8", set.Workloads[0].PodManifestYaml, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadDirectory_HiddenEntries_Skipped()
    {
        // A Kubernetes ConfigMap volume repeats every file under ..data/ and ..<timestamp>/.
        using var temp = new TempDirectory("flotel-hidden-");
        var dir = temp.Path;
        Directory.CreateDirectory(Path.Combine(dir, "..data"));
        File.WriteAllText(Path.Combine(dir, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
        File.WriteAllText(Path.Combine(dir, "..data", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
        File.WriteAllText(Path.Combine(dir, ".editor-backup.yaml"), "not: [valid\n");

        var set = ManifestLoader.LoadDirectory(dir);

        Assert.Empty(set.Diagnostics);
        Assert.Single(set.ConfigMaps);
    }

    [Fact]
    public void Resolve_ErrorInOtherDocumentOfSameFile_DoesNotExcludeWorkload()
    {
        var yaml = Base + "\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: not*base64!\n";

        var result = Resolve(yaml);

        Assert.True(result.HasErrors);
        Assert.Single(result.Plan!.Workloads);
    }

    [Fact]
    public void LoadText_AliasAsKeyOverNestedAliases_ErrorWithoutHanging()
    {
        var lines = new List<string> { "a0: &a0 [x, x, x, x, x, x, x, x, x, x]" };
        for (var i = 1; i < 12; i++)
        {
            lines.Add($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]");
        }

        lines.Add("? *a11");
        lines.Add(": boom");
        var yaml = string.Join("\n", lines) + "\n";

        var error = Single(Load(yaml).Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal(LineOf(yaml, "? *a11"), error.Line);
        Assert.Contains("mapping keys must be plain strings", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadText_ListAsKey_Error()
    {
        var yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  ? [a, b]\n  : c\n";

        Assert.Equal(6, Single(Load(yaml).Diagnostics, DiagnosticSeverity.Error).Line);
    }

    [Fact]
    public void LoadText_NestedValuesAndSequencesOfMappings_NotMistakenForKeys()
    {
        // Mappings inside lists inside mappings: the key/value tracking must stay in step.
        Assert.Empty(Load(Base + "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n  labels: {a: b}\ndata:\n  k: v\n").Diagnostics);
    }
}
