using System.Globalization;
using Flotel.Model.Manifests;
using Flotel.Store.Fleet;
using Flotel.Wire.Manifests;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// Checks one entry of <c>POST /api/fleet/apply</c> (docs/fleet.md §7): one manifest document, validated by the same
/// loader as <c>flotel check --manifests</c>, its diagnostics pointing at the <c>FILE:LINE</c> the CLI sent.
/// </summary>
public static class FleetObjects
{
    /// <summary>Largest document accepted (characters): a manifest is a few KiB; a CA bundle in a Secret maybe 200 KiB.</summary>
    public const int MaxDocumentChars = 512 * 1024;

    /// <summary>Largest line number honoured in a <c>source</c> (beyond it diagnostics count from the document's start).</summary>
    private const int MaxSourceLine = 1_000_000;

    /// <summary>The object of <paramref name="yaml"/>, or null with the reasons.</summary>
    public static (FleetObject? Object, IReadOnlyList<ManifestDiagnostic> Diagnostics) Parse(string yaml, string source, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(source);
        var (file, line) = FleetRenderer.ParseSource(source);
        if (line > MaxSourceLine)
        {
            line = 0;
        }

        if (yaml.Length > MaxDocumentChars)
        {
            return (null, [Error(file, line, string.Create(CultureInfo.InvariantCulture, $"the document is larger than {MaxDocumentChars / 1024} KiB"))]);
        }

        var set = ManifestLoader.LoadText(ManifestDocuments.AtLine(yaml, line), file);
        var errors = set.Diagnostics.Where(d => d.IsError).ToList();
        if (errors.Count > 0)
        {
            return (null, errors);
        }

        (string Kind, ObjectMeta Meta)[] found =
        [
            .. set.Devices.Select(d => (FleetRenderer.DeviceKind, d.Metadata)),
            .. set.Workloads.Select(w => (FleetRenderer.WorkloadKind, w.Metadata)),
            .. set.ConfigMaps.Select(c => (FleetRenderer.ConfigMapKind, c.Metadata)),
            .. set.Secrets.Select(s => (FleetRenderer.SecretKind, s.Metadata)),
        ];
        if (found.Length != 1)
        {
            return (null, [Error(file, line, string.Create(CultureInfo.InvariantCulture,
                $"each entry must hold exactly one EdgeDevice, EdgeWorkload, ConfigMap or Secret document, this one holds {found.Length}"))]);
        }

        var (kind, meta) = found[0];
        if (kind == FleetRenderer.DeviceKind && !DeviceNames.IsValid(meta.Name))
        {
            return (null, [Error(file, line, $"EdgeDevice name '{meta.Name}' must be lower-case letters, digits, '-' and '.' (it becomes the device certificate's name)", "metadata.name")]);
        }

        return (new FleetObject(kind, meta.Name, yaml, source, now), set.Diagnostics);
    }

    private static ManifestDiagnostic Error(string file, int line, string message, string field = "") =>
        new(DiagnosticSeverity.Error, file, line, field, message);
}
