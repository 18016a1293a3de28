using Flotel.Model.Manifests;

namespace Flotel.Gateway.Configuration;

/// <summary>
/// One problem found in the gateway's configuration file, pointing at <c>FILE:LINE</c> and the key's path. Printed
/// exactly as the manifests' diagnostics are (<see cref="ManifestDiagnostic.Format"/>), so <c>flotel check</c> reads
/// the same for both inputs.
/// </summary>
public sealed record ConfigDiagnostic(DiagnosticSeverity Severity, string File, int Line, string FieldPath, string Message)
{
    public bool IsError => Severity == DiagnosticSeverity.Error;

    /// <summary><c>FILE:LINE: key: message</c>, or <c>FILE:LINE: key: warning: message</c>.</summary>
    public override string ToString() => ManifestDiagnostic.Format(Severity, File, Line, FieldPath, Message);
}
