using System.Globalization;

namespace Flotel.Model.Manifests;

/// <summary>One problem found in the manifests, pointing at <c>FILE:LINE</c> and the field path.</summary>
public sealed record ManifestDiagnostic(DiagnosticSeverity Severity, string File, int Line, string FieldPath, string Message)
{
    public bool IsError => Severity == DiagnosticSeverity.Error;

    /// <summary>
    /// <c>FILE:LINE: field: message</c> for errors, <c>FILE:LINE: field: warning: message</c> for warnings;
    /// the field part is left out when there is none (e.g. a YAML syntax error).
    /// </summary>
    public override string ToString()
    {
        var location = Line > 0 ? string.Create(CultureInfo.InvariantCulture, $"{File}:{Line}: ") : File.Length > 0 ? File + ": " : string.Empty;
        var field = FieldPath.Length > 0 ? FieldPath + ": " : string.Empty;
        var severity = IsError ? string.Empty : "warning: ";
        return $"{location}{field}{severity}{Message}";
    }
}
