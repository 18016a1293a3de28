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
    public override string ToString() => Format(Severity, File, Line, FieldPath, Message);

    /// <summary>The text of <see cref="ToString"/>, for other inputs' diagnostics that print the same way.</summary>
    public static string Format(DiagnosticSeverity severity, string file, int line, string fieldPath, string message)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(fieldPath);
        var location = line > 0 ? string.Create(CultureInfo.InvariantCulture, $"{file}:{line}: ") : file.Length > 0 ? file + ": " : string.Empty;
        var field = fieldPath.Length > 0 ? fieldPath + ": " : string.Empty;
        var warning = severity == DiagnosticSeverity.Error ? string.Empty : "warning: ";
        return $"{location}{field}{warning}{message}";
    }
}
