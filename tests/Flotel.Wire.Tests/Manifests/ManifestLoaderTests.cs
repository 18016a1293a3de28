using System.Text;
using Flotel.Model.Manifests;
using Flotel.Wire.Manifests;
using static Flotel.Wire.Tests.Manifests.ManifestTestKit;

namespace Flotel.Wire.Tests.Manifests;

public sealed class ManifestLoaderTests
{
    [Fact]
    public void LoadText_BaseManifests_NoDiagnostics()
    {
        var set = Load(Base);

        Assert.Empty(set.Diagnostics);
        Assert.Single(set.Devices);
        Assert.Single(set.ConfigMaps);
        Assert.Single(set.Workloads);
    }

    [Fact]
    public void LoadText_BufferSizeWithUnit_ErrorNamesFileLineAndField()
    {
        var yaml = Replace(Base, "kind: syslog\n", "kind: syslog\n      bufferSize: 10mb\n");

        var error = Single(Load(yaml).Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal(
            $"test.yaml:{LineOf(yaml, "bufferSize: 10mb")}: spec.logCollection.syslog1.bufferSize: expected an integer, got \"10mb\"",
            error.ToString());
    }

    [Fact]
    public void LoadText_QuotedInteger_ErrorSaysRemoveQuotes()
    {
        var yaml = Replace(Base, "kind: syslog\n", "kind: syslog\n      bufferSize: \"10\"\n");

        var error = Single(Load(yaml).Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal("spec.logCollection.syslog1.bufferSize", error.FieldPath);
        Assert.Contains("quoted string \"10\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadText_NegativeBufferSize_ErrorQuotesKey()
    {
        var yaml = Replace(Base, "kind: syslog\n", "kind: syslog\n      bufferSize: -1\n");

        var error = Single(Load(yaml).Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal(LineOf(yaml, "bufferSize: -1"), error.Line);
        Assert.StartsWith("`bufferSize` must be between 0 and", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadText_SyntaxError_ReportsFileAndLine()
    {
        var yaml = Base + "\n---\napiVersion: v1\nkind: ConfigMap\ndata: {a: [1, 2}\n";

        var set = Load(yaml);

        var error = Single(set.Diagnostics, DiagnosticSeverity.Error);
        Assert.Equal(FileName, error.File);
        Assert.Equal(LineOf(yaml, "data: {a: [1, 2}"), error.Line);
        Assert.StartsWith("YAML syntax error", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(Line:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadDirectory_SyntaxErrorFile_ReportsDisplayedPathAndLine()
    {
        var dir = DataDirectory("syntax-error");

        var error = Single(ManifestLoader.LoadDirectory(dir).Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal(dir.Replace('\\', '/') + "/bad.yaml", error.File);
        Assert.InRange(error.Line, 6, 7); // the unclosed '[' on line 6 is detected at the end of the input
    }

    [Fact]
    public void LoadDirectory_MultiDocumentFile_LoadsEveryDocument()
    {
        var set = ManifestLoader.LoadDirectory(DataDirectory("multi-doc"));

        Assert.Empty(set.Diagnostics);
        Assert.Equal("dev-multi", Assert.Single(set.Devices).Metadata.Name);
        Assert.Equal("secure-syslog", Assert.Single(set.ConfigMaps).Metadata.Name);
        Assert.Equal(["syslog-ca", "receiver-ca"], set.Secrets.Select(s => s.Metadata.Name));
        Assert.Equal("sensor", Assert.Single(set.Workloads).Metadata.Name);
        Assert.All(set.Devices, d => Assert.Equal("plant-a", d.Metadata.Namespace));
    }

    [Fact]
    public void LoadDirectory_MultiDocumentFile_EachObjectKnowsItsDocumentLine()
    {
        var dir = DataDirectory("multi-doc");
        var text = System.IO.File.ReadAllText(Path.Combine(dir, "all-in-one.yaml"));

        var set = ManifestLoader.LoadDirectory(dir);

        Assert.Equal(LineOf(text, "kind: EdgeDevice") - 1, set.Devices[0].Source.Line);
        Assert.Equal(LineOf(text, "kind: EdgeWorkload") - 1, set.Workloads[0].Source.Line);
        Assert.Equal(LineOf(text, "bufferSize: 64"), set.Devices[0].Source.LineOf("spec.logCollection.secure.bufferSize"));
    }

    [Fact]
    public void LoadDirectory_Nested_ReadsYamlAndYmlRecursivelyInOrdinalOrder()
    {
        var dir = DataDirectory("nested");

        var set = ManifestLoader.LoadDirectory(dir);

        Assert.Empty(set.Diagnostics);
        Assert.Equal("dev-nested", Assert.Single(set.Devices).Metadata.Name);
        Assert.Equal(["cm-upper-ext", "cm-nested"], set.ConfigMaps.Select(c => c.Metadata.Name));
        Assert.EndsWith("/sub/20-configmap.yaml", set.ConfigMaps[1].Source.File, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadDirectory_MissingDirectory_ThrowsWithThePath()
    {
        var missing = Path.Combine(Path.GetTempPath(), "flotel-no-such-dir-" + Guid.NewGuid().ToString("N"));

        var e = Assert.Throws<DirectoryNotFoundException>(() => ManifestLoader.LoadDirectory(missing));

        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadText_UnknownKind_WarningAndSkipped()
    {
        var yaml = Base + "\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: logstash\n";

        var set = Load(yaml);

        var warning = Single(set.Diagnostics, DiagnosticSeverity.Warning);
        Assert.Equal(LineOf(yaml, "kind: Deployment"), warning.Line);
        Assert.Equal("kind", warning.FieldPath);
        Assert.Contains("Deployment", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(set.Diagnostics, d => d.IsError);
    }

    [Fact]
    public void LoadText_UnknownField_WarningNamesFileLineAndField()
    {
        var yaml = Replace(Base, "kind: syslog\n", "kind: syslog\n      bufferSzie: 10\n");

        var warning = Single(Load(yaml).Diagnostics, DiagnosticSeverity.Warning);

        Assert.Equal(
            $"test.yaml:{LineOf(yaml, "bufferSzie")}: spec.logCollection.syslog1.bufferSzie: warning: unknown field, ignored",
            warning.ToString());
    }

    [Fact]
    public void LoadText_UnknownPodSpecField_NoWarning()
    {
        var yaml = Replace(Base, "      containers:\n", "      restartPolicy: Always\n      containers:\n");

        Assert.Empty(Load(yaml).Diagnostics);
    }

    [Fact]
    public void LoadText_DuplicateObject_ErrorPointsAtFirstDefinition()
    {
        var yaml = Base + "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: syslog-cm\n  namespace: default\n";

        var set = Load(yaml);

        var error = Single(set.Diagnostics, DiagnosticSeverity.Error);
        Assert.Equal(LineOf(yaml, "  namespace: default") - 1, error.Line); // the duplicate's metadata.name
        Assert.Contains($"first defined at test.yaml:{LineOf(yaml, "kind: ConfigMap") - 1}", error.Message, StringComparison.Ordinal);
        Assert.Single(set.ConfigMaps);
    }

    [Fact]
    public void LoadText_SameNameOtherNamespaceOrKind_NotADuplicate()
    {
        var yaml = Base + "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: syslog-cm\n  namespace: other\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: syslog-cm\n";

        var set = Load(yaml);

        Assert.Empty(set.Diagnostics);
        Assert.Equal(2, set.ConfigMaps.Count);
    }

    [Fact]
    public void LoadText_MissingName_Error()
    {
        var yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: x\n";

        var error = Single(Load(yaml).Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal("metadata.name", error.FieldPath);
        Assert.Empty(Load(yaml).ConfigMaps);
    }

    [Fact]
    public void LoadText_WrongApiVersion_Error()
    {
        var yaml = Replace(Base, "apiVersion: management.project-flotta.io/v1alpha1\nkind: EdgeDevice", "apiVersion: management.project-flotta.io/v1\nkind: EdgeDevice");

        var error = Single(Load(yaml).Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal(1, error.Line);
        Assert.Equal("apiVersion", error.FieldPath);
    }

    [Fact]
    public void LoadText_NamespaceAbsent_IsDefault()
    {
        Assert.Equal("default", Load(Base).Devices[0].Metadata.Namespace);
    }

    [Fact]
    public void LoadText_EnvPlaceholder_KeptLiterally()
    {
        var yaml = Replace(Base, "Address: 127.0.0.1:5140", "Address: ${HOME}:5140");

        var set = Load(yaml);

        Assert.Equal("${HOME}:5140", set.ConfigMaps[0].Data["Address"]);
    }

    [Fact]
    public void LoadText_SecretDataAndStringData_DecodedStringDataWins()
    {
        var yaml = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  a: aGVsbG8=\n  b: Ynll\nstringData:\n  b: plain\n";

        var secret = Assert.Single(Load(yaml).Secrets);

        Assert.Equal("hello", Encoding.UTF8.GetString(secret.Data["a"]));
        Assert.Equal("plain", Encoding.UTF8.GetString(secret.Data["b"]));
        Assert.DoesNotContain("hello", secret.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void LoadText_SecretBadBase64_ErrorNamesKeyLine()
    {
        var yaml = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  ok: aGVsbG8=\n  ca.crt: not*base64\n";

        var error = Single(Load(yaml).Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal(LineOf(yaml, "not*base64"), error.Line);
        Assert.Equal("data.ca.crt", error.FieldPath);
        Assert.Contains("base64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadText_WrongShape_ErrorNamesExpectedShape()
    {
        var yaml = Replace(Base, "    matchLabels:\n      app: foo\n", "    matchLabels: [app, foo]\n");

        var error = Single(Load(yaml).Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal("spec.deviceSelector.matchLabels", error.FieldPath);
        Assert.Equal("expected a mapping, got a list", error.Message);
    }

    [Fact]
    public void LoadText_ContainerWithoutImage_Error()
    {
        var yaml = Replace(Base, "\n          image: localhost/busybox:local", string.Empty);

        var error = Single(Load(yaml).Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal("spec.pod.spec.containers[0].image", error.FieldPath);
        Assert.Equal(LineOf(yaml, "- name: c1"), error.Line);
    }

    [Fact]
    public void LoadText_BadSelectorOperator_Error()
    {
        var yaml = Replace(Base, "    matchLabels:\n      app: foo\n", "    matchExpressions:\n      - key: app\n        operator: Equals\n        values: [foo]\n");

        var error = Single(Load(yaml).Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal("spec.deviceSelector.matchExpressions[0].operator", error.FieldPath);
        Assert.Equal(LineOf(yaml, "operator: Equals"), error.Line);
    }

    [Fact]
    public void LoadText_BooleanNotTrueFalse_Error()
    {
        var yaml = Replace(Base, "      containers:\n", "      hostNetwork: yes\n      containers:\n");

        var error = Single(Load(yaml).Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal("spec.pod.spec.hostNetwork", error.FieldPath);
    }

    [Fact]
    public void LoadText_EmptyDocuments_Ignored()
    {
        var set = Load("---\n---\n# only a comment\n---\n" + Base);

        Assert.Empty(set.Diagnostics);
        Assert.Single(set.Devices);
    }

    [Fact]
    public void LoadText_DocumentNotAMapping_Error()
    {
        var error = Single(Load("- a\n- b\n").Diagnostics, DiagnosticSeverity.Error);

        Assert.Equal(1, error.Line);
        Assert.Contains("apiVersion", error.Message, StringComparison.Ordinal);
    }
}
