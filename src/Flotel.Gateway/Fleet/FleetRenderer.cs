using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Flotel.Model;
using Flotel.Model.Manifests;
using Flotel.Store.Fleet;
using Flotel.Wire.Manifests;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// Renders every device's bundle from the stored objects (docs/fleet.md §3): the EdgeDevice, the EdgeWorkloads that
/// select it and resolve, and the ConfigMaps and Secrets those objects reference, as one multi-document YAML. Selection
/// and references are decided by the same <see cref="DevicePlanResolver"/> the device runs, so the bundle resolves on
/// the device to the plan <c>flotel check --manifests</c> prints for the same objects. A selected workload that does
/// not resolve is left out and reported; the rest ships.
/// </summary>
public static class FleetRenderer
{
    /// <summary>Lower-case kind names used in object ids and commands (docs/fleet.md §1).</summary>
    public const string DeviceKind = "edgedevice";
    public const string WorkloadKind = "edgeworkload";
    public const string ConfigMapKind = "configmap";
    public const string SecretKind = "secret";

    /// <summary>Renders every EdgeDevice among <paramref name="objects"/>.</summary>
    public static FleetRendering Render(IReadOnlyList<FleetObject> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var byKey = objects.ToDictionary(o => o.Key, StringComparer.Ordinal);
        // Each object is its own "file" named by its id, so every diagnostic says which object it belongs to.
        var set = ManifestLoader.LoadTexts(objects.Select(o => (o.Yaml, o.Key)));
        var devices = new SortedDictionary<string, RenderedBundle>(StringComparer.Ordinal);
        var workloadDevices = set.Workloads.ToDictionary(w => w.Metadata.Name, _ => new List<string>(), StringComparer.Ordinal);
        var workloadErrors = set.Workloads.ToDictionary(w => w.Metadata.Name, _ => new List<string>(), StringComparer.Ordinal);

        foreach (var device in set.Devices.OrderBy(d => d.Metadata.Name, StringComparer.Ordinal))
        {
            var name = device.Metadata.Name;
            var result = DevicePlanResolver.Resolve(set, name, DeviceKind + "/" + name);
            if (result.Plan is not { } plan)
            {
                continue; // cannot happen: object ids make device names unique
            }

            var errors = new List<BundleError>();
            foreach (var d in result.Diagnostics.Skip(set.Diagnostics.Count).Where(d => d.IsError))
            {
                errors.Add(new BundleError(d.File, Describe(d, byKey)));
            }

            var included = plan.Workloads.Select(w => w.Name).ToHashSet(StringComparer.Ordinal);
            var notSelected = plan.NotSelectedWorkloads.ToHashSet(StringComparer.Ordinal);
            var workloads = new List<EdgeWorkload>();
            foreach (var workload in set.Workloads.Where(w => !notSelected.Contains(w.Metadata.Name)).OrderBy(w => w.Metadata.Name, StringComparer.Ordinal))
            {
                var id = WorkloadKind + "/" + workload.Metadata.Name;
                workloadDevices[workload.Metadata.Name].Add(name);
                if (included.Contains(workload.Metadata.Name))
                {
                    workloads.Add(workload);
                    continue;
                }

                if (!errors.Any(e => e.Object == id))
                {
                    errors.Add(new BundleError(id, "left out of the bundle: an object it references has errors (see them in this list)"));
                }

                workloadErrors[workload.Metadata.Name].AddRange(errors.Where(e => e.Object == id).Select(e => $"{name}: {e.Message}"));
            }

            var configMaps = new SortedSet<string>(StringComparer.Ordinal);
            var secrets = new SortedSet<string>(StringComparer.Ordinal);
            CollectReferences(set, device, workloads, configMaps, secrets);

            var yaml = new StringBuilder();
            Append(yaml, byKey, DeviceKind + "/" + name);
            foreach (var c in configMaps)
            {
                Append(yaml, byKey, ConfigMapKind + "/" + c);
            }

            foreach (var s in secrets)
            {
                Append(yaml, byKey, SecretKind + "/" + s);
            }

            foreach (var w in workloads)
            {
                Append(yaml, byKey, WorkloadKind + "/" + w.Metadata.Name);
            }

            var text = yaml.ToString();
            devices[name] = new RenderedBundle(text, Digest(text), errors);
        }

        var summaries = set.Workloads.OrderBy(w => w.Metadata.Name, StringComparer.Ordinal)
            .Select(w => new WorkloadSummary(w.Metadata.Name, workloadDevices[w.Metadata.Name], [.. workloadErrors[w.Metadata.Name].Distinct(StringComparer.Ordinal)]))
            .ToList();
        return new FleetRendering(devices, summaries);
    }

    /// <summary><c>sha256:</c> + lower-case hex SHA-256 of the bundle's UTF-8 bytes (the ETag, docs/fleet.md §1).</summary>
    public static string Digest(string yaml) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(yaml)));

    /// <summary>The model's kind (<c>EdgeDevice</c>) as used in object ids (<c>edgedevice</c>); null for other kinds.</summary>
    public static string? KindId(string? kind) => kind switch
    {
        EdgeDevice.KindName => DeviceKind,
        EdgeWorkload.KindName => WorkloadKind,
        ConfigMap.KindName => ConfigMapKind,
        Secret.KindName => SecretKind,
        _ => null,
    };

    /// <summary>
    /// Every object the resolver may read for this device: the syslog ConfigMaps of its targets and their CA Secrets,
    /// the metrics receiver's CA and credential Secrets, the system allow list, and the included workloads' allow lists
    /// (DevicePlanResolver reads nothing else). Absent ones are simply not there; the resolver reports them the same
    /// way on both sides.
    /// </summary>
    private static void CollectReferences(ManifestSet set, EdgeDevice device, List<EdgeWorkload> workloads, SortedSet<string> configMaps, SortedSet<string> secrets)
    {
        var ns = device.Metadata.Namespace;
        void ConfigMapRef(string space, string? name)
        {
            if (name is { Length: > 0 } && set.ConfigMaps.Any(c => c.Metadata.Namespace == space && c.Metadata.Name == name))
            {
                configMaps.Add(name);
            }
        }

        void SecretRef(string space, string? name)
        {
            if (name is { Length: > 0 } && set.Secrets.Any(s => s.Metadata.Namespace == space && s.Metadata.Name == name))
            {
                secrets.Add(name);
            }
        }

        foreach (var target in device.LogCollection.Values)
        {
            ConfigMapRef(ns, target.SyslogConfigName);
            if (set.ConfigMaps.FirstOrDefault(c => c.Metadata.Namespace == ns && c.Metadata.Name == target.SyslogConfigName) is { } cm)
            {
                SecretRef(cm.Metadata.Namespace, cm.Data.GetValueOrDefault(FlottaDefaults.CaSecretNameKey));
            }
        }

        SecretRef(ns, device.Metrics?.ReceiverConfiguration?.CaSecretName);
        SecretRef(ns, device.Metrics?.ReceiverConfiguration?.AuthSecretName);
        ConfigMapRef(ns, device.Metrics?.System?.AllowListName);
        foreach (var w in workloads)
        {
            ConfigMapRef(w.Metadata.Namespace, w.Metrics?.AllowListName);
        }
    }

    private static void Append(StringBuilder yaml, Dictionary<string, FleetObject> byKey, string key)
    {
        var text = byKey[key].Yaml;
        // A stored document may start with its own "---" line; the bundle writes one separator per document.
        if (text.StartsWith("---", StringComparison.Ordinal) && (text.Length == 3 || text[3] is '\n' or '\r'))
        {
            text = text[3..].TrimStart('\r', '\n');
        }

        yaml.Append("---\n").Append(text);
        if (!text.EndsWith('\n'))
        {
            yaml.Append('\n');
        }
    }

    /// <summary>
    /// A diagnostic of an object as the operator knows it: the object's source file and line (the line inside the
    /// document added to the line the document started on), then field and message.
    /// </summary>
    private static string Describe(ManifestDiagnostic d, Dictionary<string, FleetObject> byKey)
    {
        if (!byKey.TryGetValue(d.File, out var o))
        {
            return d.ToString();
        }

        var (file, line) = ParseSource(o.Source);
        var at = line > 0 && d.Line > 0 ? line + d.Line - 1 : line;
        return (d with { File = file, Line = at }).ToString();
    }

    /// <summary><c>FILE:LINE</c> → file and line (0 when there is none).</summary>
    public static (string File, int Line) ParseSource(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var colon = source.LastIndexOf(':');
        return colon > 0 && int.TryParse(source.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var line)
            ? (source[..colon], line)
            : (source, 0);
    }
}
