namespace Flotel.Model.Manifests;

/// <summary>Error: the manifests are invalid (<c>flotel check</c> exits 1). Warning: something is ignored.</summary>
public enum DiagnosticSeverity
{
    Warning,
    Error,
}
