using Flotel.Model.Manifests;

namespace Flotel.Model.Tests.Manifests;

public sealed class ManifestDiagnosticTests
{
    [Fact]
    public void ToString_Error_FileLineFieldMessage() =>
        Assert.Equal(
            "examples/blog/device.yaml:12: spec.logCollection.logstash-syslog.bufferSize: expected an integer, got \"10mb\"",
            new ManifestDiagnostic(DiagnosticSeverity.Error, "examples/blog/device.yaml", 12, "spec.logCollection.logstash-syslog.bufferSize", "expected an integer, got \"10mb\"").ToString());

    [Fact]
    public void ToString_Warning_SaysWarningAfterField() =>
        Assert.Equal(
            "a.yaml:4: spec.colour: warning: unknown field, ignored",
            new ManifestDiagnostic(DiagnosticSeverity.Warning, "a.yaml", 4, "spec.colour", "unknown field, ignored").ToString());

    [Fact]
    public void ToString_NoLineNoField_FileAndMessage() =>
        Assert.Equal("dir: no EdgeDevice found", new ManifestDiagnostic(DiagnosticSeverity.Error, "dir", 0, string.Empty, "no EdgeDevice found").ToString());

    [Fact]
    public void ToString_NoFile_MessageOnly() =>
        Assert.Equal("no EdgeDevice found", new ManifestDiagnostic(DiagnosticSeverity.Error, string.Empty, 0, string.Empty, "no EdgeDevice found").ToString());
}
