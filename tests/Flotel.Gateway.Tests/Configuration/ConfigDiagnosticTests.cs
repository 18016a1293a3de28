using Flotel.Gateway.Configuration;
using Flotel.Model.Manifests;

namespace Flotel.Gateway.Tests.Configuration;

public sealed class ConfigDiagnosticTests
{
    [Theory]
    [InlineData(DiagnosticSeverity.Error, "gateway.yaml", 3, "http.address", "'x' is not an address", "gateway.yaml:3: http.address: 'x' is not an address")]
    [InlineData(DiagnosticSeverity.Warning, "gateway.yaml", 1, "htp", "unknown field, ignored", "gateway.yaml:1: htp: warning: unknown field, ignored")]
    [InlineData(DiagnosticSeverity.Error, "gateway.yaml", 0, "", "file not found", "gateway.yaml: file not found")]
    [InlineData(DiagnosticSeverity.Error, "", 0, "", "no file", "no file")]
    public void ToString_PrintsAsAManifestDiagnosticDoes(DiagnosticSeverity severity, string file, int line, string field, string message, string expected)
    {
        var diagnostic = new ConfigDiagnostic(severity, file, line, field, message);

        Assert.Equal(expected, diagnostic.ToString());
        Assert.Equal(new ManifestDiagnostic(severity, file, line, field, message).ToString(), diagnostic.ToString());
        Assert.Equal(severity == DiagnosticSeverity.Error, diagnostic.IsError);
    }
}
