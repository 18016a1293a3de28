using Flotel.Model.Manifests;
using Flotel.Wire.Manifests;

namespace Flotel.Wire.Tests.Manifests;

/// <summary>Shared helpers: the repository root, one-file loading, and line lookup in test YAML.</summary>
internal static class ManifestTestKit
{
    public const string FileName = "test.yaml";

    /// <summary>A device, its syslog ConfigMap and a workload: loads with no diagnostics.</summary>
    public const string Base = """
        apiVersion: management.project-flotta.io/v1alpha1
        kind: EdgeDevice
        metadata:
          name: dev1
          labels:
            app: foo
        spec:
          logCollection:
            syslog1:
              kind: syslog
              syslogConfig:
                name: syslog-cm
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: syslog-cm
        data:
          Address: 127.0.0.1:5140
        ---
        apiVersion: management.project-flotta.io/v1alpha1
        kind: EdgeWorkload
        metadata:
          name: wl1
        spec:
          deviceSelector:
            matchLabels:
              app: foo
          type: pod
          logCollection: syslog1
          pod:
            spec:
              containers:
                - name: c1
                  image: localhost/busybox:local
        """;

    /// <summary>The repository root: walking up from the test binaries to the folder holding Flotel.sln.</summary>
    public static string RepoRoot() => Repository.Root;

    public static string BlogDirectory() => Path.Combine(RepoRoot(), "examples", "blog");

    public static string DataDirectory(string name) => Path.Combine(AppContext.BaseDirectory, "Data", "Manifests", name);

    public static ManifestSet Load(string yaml) => ManifestLoader.LoadText(yaml, FileName);

    public static DevicePlanResult Resolve(string yaml, string? device = null) => DevicePlanResolver.Resolve(Load(yaml), device, "manifests");

    /// <summary>1-based line of the first line of <paramref name="yaml"/> containing <paramref name="marker"/>.</summary>
    public static int LineOf(string yaml, string marker)
    {
        var lines = yaml.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Contains(marker, StringComparison.Ordinal))
            {
                return i + 1;
            }
        }

        throw new InvalidOperationException("marker not found: " + marker);
    }

    public static ManifestDiagnostic Single(IEnumerable<ManifestDiagnostic> diagnostics, DiagnosticSeverity severity) =>
        Assert.Single(diagnostics, d => d.Severity == severity);

    public static string Replace(string yaml, string oldText, string newText)
    {
        Assert.Contains(oldText, yaml, StringComparison.Ordinal);
        return yaml.Replace(oldText, newText, StringComparison.Ordinal);
    }
}
