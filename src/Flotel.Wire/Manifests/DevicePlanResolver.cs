using System.Globalization;
using System.Net;
using System.Text;
using Flotel.Model;
using Flotel.Model.Manifests;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Flotel.Wire.Manifests;

/// <summary>
/// Builds the <see cref="DevicePlan"/> of one EdgeDevice the way Flotta's operator assembles a device's
/// configuration (OP <c>configuration-assembler.go</c>, docs/reference/flotta-device-worker.md §2.5): selected workloads, syslog targets
/// from ConfigMaps, allow lists, the metrics receiver and its CA Secret, with Flotta's defaults. Where
/// Flotta answers HTTP 500 for the whole device (missing ConfigMap, bad protocol …) or crashes (no
/// <c>syslogConfig</c>), Flotel reports an error naming the file, line and field.
/// References resolve in the referring object's namespace.
/// </summary>
public static class DevicePlanResolver
{
    private static readonly HashSet<string> SyslogConfigMapKeys = new(StringComparer.Ordinal)
    {
        FlottaDefaults.AddressKey, FlottaDefaults.ProtocolKey, FlottaDefaults.FormatKey, FlottaDefaults.CaSecretNameKey,
    };

    /// <summary>
    /// Resolves the plan for <paramref name="deviceName"/>, or for the only EdgeDevice when null. The result's
    /// diagnostics start with the load diagnostics of <paramref name="set"/>. <paramref name="origin"/> names
    /// the manifests (e.g. the directory) in diagnostics that belong to no file.
    /// </summary>
    public static DevicePlanResult Resolve(ManifestSet set, string? deviceName, string origin = "")
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(origin);
        var resolution = new Resolution(set, origin);
        var plan = resolution.Run(deviceName);
        return new DevicePlanResult(plan, resolution.Diagnostics);
    }

    private sealed class Resolution
    {
        private readonly ManifestSet _set;
        private readonly string _origin;
        private readonly List<ManifestDiagnostic> _resolved = [];

        public Resolution(ManifestSet set, string origin)
        {
            _set = set;
            _origin = origin;
        }

        /// <summary>Load diagnostics first (file order), then resolution diagnostics (plan order).</summary>
        public List<ManifestDiagnostic> Diagnostics => [.. _set.Diagnostics, .. _resolved];

        public DevicePlan? Run(string? deviceName)
        {
            if (ChooseDevice(deviceName) is not { } device)
            {
                return null;
            }

            var targets = new Dictionary<string, LogTargetPlan?>(StringComparer.Ordinal);
            foreach (var (name, config) in device.LogCollection.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                targets[name] = ResolveTarget(device, name, config);
            }

            var workloads = new List<WorkloadPlan>();
            var notSelected = new List<string>();
            foreach (var workload in _set.Workloads.OrderBy(w => w.Metadata.Name, StringComparer.Ordinal).ThenBy(w => w.Metadata.Namespace, StringComparer.Ordinal))
            {
                if (!IsSelected(device, workload))
                {
                    notSelected.Add(workload.Metadata.Name);
                    continue;
                }

                if (ResolveWorkload(device, workload, targets) is { } plan)
                {
                    workloads.Add(plan);
                }
            }

            return new DevicePlan
            {
                DeviceName = device.Metadata.Name,
                Namespace = device.Metadata.Namespace,
                Labels = device.Metadata.Labels,
                LogTargets = [.. targets.Values.OfType<LogTargetPlan>()],
                Workloads = workloads,
                NotSelectedWorkloads = notSelected,
                MetricsReceiver = ResolveReceiver(device),
                SystemMetrics = ResolveSystem(device),
                Retention = ResolveRetention(device),
            };
        }

        private EdgeDevice? ChooseDevice(string? deviceName)
        {
            var candidates = deviceName is null
                ? _set.Devices
                : [.. _set.Devices.Where(d => string.Equals(d.Metadata.Name, deviceName, StringComparison.Ordinal))];
            if (candidates.Count == 1)
            {
                return candidates[0];
            }

            var names = string.Join(", ", _set.Devices.Select(d => $"{d.Metadata.Namespace}/{d.Metadata.Name}"));
            if (candidates.Count == 0)
            {
                AddError(_origin, 0, string.Empty, deviceName is null
                    ? "no EdgeDevice found in the manifests"
                    : $"EdgeDevice \"{deviceName}\" not found (found: {(names.Length == 0 ? "none" : names)})");
            }
            else if (deviceName is null)
            {
                AddError(_origin, 0, string.Empty, string.Create(CultureInfo.InvariantCulture, $"{candidates.Count} EdgeDevices found ({names}); choose one with --device NAME"));
            }
            else
            {
                AddError(_origin, 0, string.Empty, $"EdgeDevice \"{deviceName}\" is defined in several namespaces ({names})");
            }

            return null;
        }

        private LogTargetPlan? ResolveTarget(EdgeDevice device, string name, LogCollectionConfig config)
        {
            var path = "spec.logCollection." + name;
            var src = device.Source;
            if (config.Kind.Length > 0 && !string.Equals(config.Kind, "syslog", StringComparison.Ordinal))
            {
                AddError(src, path + ".kind", $"`kind` must be syslog, got \"{config.Kind}\"");
                return null;
            }

            if (!config.HasSyslogConfig)
            {
                // Flotta's device worker dereferences a nil SyslogConfig here (docs/reference/flotta-device-worker.md §3.7).
                AddError(src, path, "`syslogConfig.name` is required: it names the ConfigMap with the collector's `Address`");
                return null;
            }

            if (config.SyslogConfigName is not { Length: > 0 } cmName)
            {
                AddError(src, path + ".syslogConfig.name", "`name` is required");
                return null;
            }

            if (FindConfigMap(device.Metadata.Namespace, cmName) is not { } cm)
            {
                AddError(src, path + ".syslogConfig.name", $"ConfigMap {device.Metadata.Namespace}/{cmName} not found");
                return null;
            }

            var ok = true;
            foreach (var key in cm.Data.Keys.Where(k => !SyslogConfigMapKeys.Contains(k)))
            {
                AddWarning(cm.Source, "data." + key, $"unknown syslog ConfigMap key, ignored (keys are case-sensitive: {string.Join(", ", SyslogConfigMapKeys)})");
            }

            string host = string.Empty;
            var port = 0;
            var address = cm.Data.GetValueOrDefault(FlottaDefaults.AddressKey, string.Empty);
            if (address.Length == 0)
            {
                AddError(cm.Source, "data." + FlottaDefaults.AddressKey, $"`Address` is required (host:port of the syslog collector for target {name})");
                ok = false;
            }
            else if (!TryParseAddress(address, out host, out port, out var reason))
            {
                AddError(cm.Source, "data." + FlottaDefaults.AddressKey, $"`Address` {reason}, got \"{address}\"");
                ok = false;
            }

            var protocolText = cm.Data.GetValueOrDefault(FlottaDefaults.ProtocolKey, string.Empty);
            SyslogProtocol protocol = SyslogProtocol.Tcp;
            switch (protocolText)
            {
                case "" or "tcp":
                    break;
                case "udp":
                    protocol = SyslogProtocol.Udp;
                    break;
                case "tls":
                    protocol = SyslogProtocol.Tls;
                    break;
                default:
                    AddError(cm.Source, "data." + FlottaDefaults.ProtocolKey, $"`Protocol` must be tcp, udp or tls, got \"{protocolText}\"");
                    ok = false;
                    break;
            }

            var formatText = cm.Data.GetValueOrDefault(FlottaDefaults.FormatKey, string.Empty);
            SyslogFormat format = SyslogFormat.Flotta;
            switch (formatText)
            {
                case "" or "flotta":
                    break;
                case "rfc5424":
                    format = SyslogFormat.Rfc5424;
                    break;
                default:
                    AddError(cm.Source, "data." + FlottaDefaults.FormatKey, $"`Format` must be flotta or rfc5424, got \"{formatText}\"");
                    ok = false;
                    break;
            }

            string? caName = cm.Data.GetValueOrDefault(FlottaDefaults.CaSecretNameKey);
            string? caPem = null;
            if (string.IsNullOrEmpty(caName))
            {
                caName = null;
            }
            else if (protocol != SyslogProtocol.Tls)
            {
                AddWarning(cm.Source, "data." + FlottaDefaults.CaSecretNameKey, "`CaSecretName` is used only when `Protocol` is tls; ignored");
                caName = null;
            }
            else
            {
                caPem = ResolveCa(cm.Metadata.Namespace, caName, cm.Source, "data." + FlottaDefaults.CaSecretNameKey);
                ok &= caPem is not null;
            }

            if (!ok)
            {
                return null;
            }

            return new LogTargetPlan
            {
                Name = name,
                BufferSizeKiB = config.BufferSizeKiB > 0 ? (int)config.BufferSizeKiB : FlottaDefaults.BufferSizeKiB,
                Address = address,
                Host = host,
                Port = port,
                Protocol = protocol,
                Format = format,
                ConfigMapName = cmName,
                CaSecretName = caName,
                CaCertificatePem = caPem,
            };
        }

        /// <summary><c>host:port</c> as <c>net.Dial</c> takes it: IPv6 literals in brackets, port 1–65535.</summary>
        internal static bool TryParseAddress(string address, out string host, out int port, out string reason)
        {
            host = string.Empty;
            port = 0;
            var colon = address.LastIndexOf(':');
            if (colon <= 0 || colon == address.Length - 1)
            {
                reason = "must be host:port";
                return false;
            }

            var hostPart = address[..colon];
            if (hostPart.StartsWith('['))
            {
                if (!hostPart.EndsWith(']') || !IPAddress.TryParse(hostPart[1..^1], out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
                {
                    reason = "must be host:port with an IPv6 address in brackets, e.g. [::1]:5140";
                    return false;
                }

                hostPart = hostPart[1..^1];
            }
            else if (hostPart.Contains(':', StringComparison.Ordinal))
            {
                reason = "must put an IPv6 address in brackets, e.g. [::1]:5140";
                return false;
            }
            else if (Uri.CheckHostName(hostPart) == UriHostNameType.Unknown)
            {
                reason = $"has an invalid host \"{hostPart}\"";
                return false;
            }

            if (!int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                reason = "must end with a port between 1 and 65535";
                port = 0;
                return false;
            }

            host = hostPart;
            reason = string.Empty;
            return true;
        }

        /// <summary>Secret key <c>ca.crt</c> as PEM text, or null (reported) when missing.</summary>
        private string? ResolveCa(string ns, string secretName, ManifestSource referrer, string referrerPath)
        {
            var secret = _set.Secrets.FirstOrDefault(s => s.Metadata.Namespace == ns && s.Metadata.Name == secretName);
            if (secret is null)
            {
                AddError(referrer, referrerPath, $"Secret {ns}/{secretName} not found");
                return null;
            }

            if (!secret.Data.TryGetValue(FlottaDefaults.CaCertKey, out var bytes) || bytes.Length == 0)
            {
                AddError(secret.Source, "data", $"missing key 'ca.crt' in Secret {ns}/{secretName}");
                return null;
            }

            var pem = Encoding.UTF8.GetString(bytes);
            if (!pem.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            {
                AddError(secret.Source, "data." + FlottaDefaults.CaCertKey, $"`ca.crt` in Secret {ns}/{secretName} is not a PEM certificate (no BEGIN CERTIFICATE line)");
                return null;
            }

            return pem;
        }

        private MetricsReceiverPlan ResolveReceiver(EdgeDevice device)
        {
            const string path = "spec.metrics.receiverConfiguration";
            if (device.Metrics?.ReceiverConfiguration is not { } rc)
            {
                return new MetricsReceiverPlan();
            }

            string? caName = rc.CaSecretName;
            string? caPem = null;
            ReceiverAuthorization? authorization = null;
            if (rc.Url.Length > 0)
            {
                if (!Uri.TryCreate(rc.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
                {
                    AddError(device.Source, path + ".url", $"`url` must be an absolute http or https URL, got \"{rc.Url}\"");
                }
                else if (caName is not null && uri.Scheme == Uri.UriSchemeHttps)
                {
                    caPem = ResolveCa(device.Metadata.Namespace, caName, device.Source, path + ".caSecretName");
                }
                else if (caName is not null)
                {
                    // Flotta reads the CA only for https URLs (docs/reference/flotta-device-worker.md §2.5).
                    AddWarning(device.Source, path + ".caSecretName", "`caSecretName` is used only with an https `url`; ignored");
                    caName = null;
                }

                if (rc.AuthSecretName is { } authName)
                {
                    authorization = ResolveAuthorization(device.Metadata.Namespace, authName, device.Source, path + ".authSecretName");
                    if (authorization is not null && uri?.Scheme == Uri.UriSchemeHttp)
                    {
                        AddWarning(device.Source, path + ".authSecretName", "credentials are sent over plain http; use an https `url` outside a trusted network");
                    }
                }
            }

            return new MetricsReceiverPlan
            {
                Url = rc.Url,
                // Operator: CRD values override the defaults only when > 0 (docs/reference/flotta-device-worker.md §2.5).
                RequestNumSamples = rc.RequestNumSamples > 0 ? (int)rc.RequestNumSamples : FlottaDefaults.RequestNumSamples,
                TimeoutSeconds = rc.TimeoutSeconds > 0 ? (int)rc.TimeoutSeconds : FlottaDefaults.TimeoutSeconds,
                CaSecretName = caPem is null ? null : caName,
                CaCertificatePem = caPem,
                AuthSecretName = authorization is null ? null : rc.AuthSecretName,
                Authorization = authorization,
            };
        }

        /// <summary>
        /// Flotel's <c>authSecretName</c>: key <c>token</c> → <c>Bearer</c>; keys <c>username</c> and <c>password</c> →
        /// <c>Basic</c>. Exactly one of the two forms; values are never echoed in diagnostics.
        /// </summary>
        private ReceiverAuthorization? ResolveAuthorization(string ns, string secretName, ManifestSource referrer, string referrerPath)
        {
            var secret = _set.Secrets.FirstOrDefault(s => s.Metadata.Namespace == ns && s.Metadata.Name == secretName);
            if (secret is null)
            {
                AddError(referrer, referrerPath, $"Secret {ns}/{secretName} not found");
                return null;
            }

            var token = secret.Data.GetValueOrDefault("token");
            var user = secret.Data.GetValueOrDefault("username");
            var password = secret.Data.GetValueOrDefault("password");
            if (token is { Length: > 0 } && user is null && password is null)
            {
                return new ReceiverAuthorization("Bearer", new SecretValue(Encoding.UTF8.GetString(token).Trim()));
            }

            if (token is null && user is { Length: > 0 } && password is not null)
            {
                return new ReceiverAuthorization("Basic", new SecretValue(Convert.ToBase64String([.. user, (byte)':', .. password])));
            }

            AddError(secret.Source, "data", $"Secret {ns}/{secretName} must hold either `token` (bearer) or `username` and `password` (basic auth)");
            return null;
        }

        private SystemMetricsPlan ResolveSystem(EdgeDevice device)
        {
            if (device.Metrics?.System is not { } system)
            {
                return new SystemMetricsPlan();
            }

            IReadOnlyList<string> allowList = FlottaDefaults.SystemAllowList;
            if (system.AllowListName is { } listName)
            {
                allowList = ResolveAllowList(device.Metadata.Namespace, listName, device.Source, "spec.metrics.system.allowList.name") ?? [];
            }

            return new SystemMetricsPlan
            {
                Disabled = system.Disabled,
                IntervalSeconds = system.Interval > 0 ? (int)system.Interval : FlottaDefaults.IntervalSeconds,
                AllowListName = system.AllowListName,
                AllowList = allowList,
            };
        }

        private static RetentionPlan ResolveRetention(EdgeDevice device)
        {
            var retention = device.Metrics?.Retention;
            return new RetentionPlan
            {
                MaxHours = retention is { MaxHours: > 0 } ? (int)retention.MaxHours : FlottaDefaults.RetentionHours,
                MaxMiB = retention?.MaxMiB ?? 0,
            };
        }

        /// <summary>
        /// The names of an allow-list ConfigMap (key <c>metrics_list.yaml</c>, YAML <c>names: [..]</c>), or null
        /// when it cannot be used (reported). An empty list is valid and blocks every metric (Flotta semantics).
        /// </summary>
        private List<string>? ResolveAllowList(string ns, string name, ManifestSource referrer, string referrerPath)
        {
            if (FindConfigMap(ns, name) is not { } cm)
            {
                AddError(referrer, referrerPath, $"ConfigMap {ns}/{name} not found");
                return null;
            }

            const string keyPath = "data." + FlottaDefaults.AllowListKey;
            if (!cm.Data.TryGetValue(FlottaDefaults.AllowListKey, out var text))
            {
                AddError(cm.Source, "data", $"{FlottaDefaults.AllowListKey} not found in {ns}/{name} config map");
                return null;
            }

            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(text));
            }
            catch (YamlException e)
            {
                AddError(cm.Source, keyPath, string.Create(CultureInfo.InvariantCulture, $"{FlottaDefaults.AllowListKey} line {e.Start.Line}: YAML syntax error: {e.Message}"));
                return null;
            }
            catch (Exception e)
            {
                AddError(cm.Source, keyPath, $"{FlottaDefaults.AllowListKey}: cannot parse YAML: {e.Message}");
                return null;
            }

            const string emptyWarning = "the allow list has no names, so no metric is collected (Flotta semantics: an empty allow list blocks everything)";
            var root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
            if (YamlFieldReader.IsNull(root))
            {
                AddWarning(cm.Source, keyPath, emptyWarning);
                return [];
            }

            if (root is not YamlMappingNode mapping)
            {
                AddError(cm.Source, keyPath, $"{FlottaDefaults.AllowListKey} must be a mapping with `names:`, got {YamlFieldReader.Describe(root!)}");
                return null;
            }

            var inner = new List<ManifestDiagnostic>();
            var reader = new YamlFieldReader(cm.Source.File, inner);
            reader.Entries(mapping, string.Empty, new HashSet<string>(StringComparer.Ordinal) { "names" });
            var names = reader.StringList(YamlFieldReader.Get(mapping, "names"), "names");

            // Inner diagnostics carry lines of the inner document: re-anchor them on the ConfigMap key.
            var line = cm.Source.LineOf(keyPath);
            foreach (var d in inner)
            {
                _resolved.Add(d with
                {
                    Line = line,
                    FieldPath = keyPath,
                    Message = string.Create(CultureInfo.InvariantCulture, $"{FlottaDefaults.AllowListKey} line {d.Line}: {d.FieldPath}: {d.Message}"),
                });
            }

            if (inner.Any(d => d.IsError))
            {
                return null;
            }

            if (names.Count == 0)
            {
                AddWarning(cm.Source, keyPath, emptyWarning);
            }

            return names;
        }

        private bool IsSelected(EdgeDevice device, EdgeWorkload workload)
        {
            bool wouldMatch;
            if (workload.Device is { } target)
            {
                // spec.device takes precedence over the selector (Flotta docs, "Deploying by device ID").
                wouldMatch = string.Equals(target, device.Metadata.Name, StringComparison.Ordinal);
            }
            else if (workload.DeviceSelector is { } selector)
            {
                wouldMatch = selector.Matches(device.Metadata.Labels);
            }
            else
            {
                AddWarning(workload.Source, "spec.deviceSelector", "the workload selects no device: set `deviceSelector` or `device`");
                return false;
            }

            if (wouldMatch && !string.Equals(workload.Metadata.Namespace, device.Metadata.Namespace, StringComparison.Ordinal))
            {
                AddWarning(workload.Source, "metadata.namespace",
                    $"EdgeWorkload {workload.Metadata.Namespace}/{workload.Metadata.Name} matches EdgeDevice {device.Metadata.Name} but is not deployed on it: Flotta deploys workloads only to devices in the same namespace ({device.Metadata.Namespace})");
                return false;
            }

            return wouldMatch;
        }

        private WorkloadPlan? ResolveWorkload(EdgeDevice device, EdgeWorkload workload, Dictionary<string, LogTargetPlan?> targets)
        {
            var src = workload.Source;
            var errorsBefore = _resolved.Count(d => d.IsError);
            if (workload.Type.Length > 0 && !string.Equals(workload.Type, "pod", StringComparison.Ordinal))
            {
                AddError(src, "spec.type", $"`type` must be pod, got \"{workload.Type}\"");
            }

            if (workload.Pod is null || workload.PodManifestYaml is null)
            {
                AddError(src, "spec.pod.spec", "`spec.pod.spec` is required");
            }

            // Errors already reported while loading this workload's document (e.g. a container without image) also exclude it.
            var loadErrors = src.HasLoadErrors;

            LogTargetPlan? target = null;
            var targetOk = true;
            if (workload.LogCollection is { } targetName)
            {
                if (!targets.TryGetValue(targetName, out target))
                {
                    var known = string.Join(", ", device.LogCollection.Keys.Order(StringComparer.Ordinal));
                    AddError(src, "spec.logCollection", $"unknown log target \"{targetName}\": EdgeDevice {device.Metadata.Name} spec.logCollection defines {(known.Length == 0 ? "no targets" : known)}");
                }

                // A target that failed to resolve was reported where it is defined.
                targetOk = target is not null;
            }

            var metrics = ResolveWorkloadMetrics(workload);
            if (!targetOk || loadErrors || _resolved.Count(d => d.IsError) > errorsBefore)
            {
                return null;
            }

            return new WorkloadPlan
            {
                Name = workload.Metadata.Name,
                Namespace = workload.Metadata.Namespace,
                Pod = workload.Pod!,
                PodManifestYaml = workload.PodManifestYaml!,
                LogTarget = target,
                Metrics = metrics,
            };
        }

        private WorkloadMetricsPlan? ResolveWorkloadMetrics(EdgeWorkload workload)
        {
            const string path = "spec.metrics";
            if (workload.Metrics is not { } m)
            {
                return null;
            }

            if (m.Port <= 0)
            {
                // Operator sends workload metrics only when port > 0 (test "Negative port is not considered").
                AddWarning(workload.Source, path + ".port", "`port` is 0 or absent, so this workload's metrics are not scraped");
                return null;
            }

            var ok = true;
            var metricsPath = EffectivePath(m.Path, workload.Source, path + ".path", ref ok);
            List<string>? allowList = null;
            if (m.AllowListName is { } listName)
            {
                allowList = ResolveAllowList(workload.Metadata.Namespace, listName, workload.Source, path + ".allowList.name");
                ok &= allowList is not null;
            }

            var containers = new Dictionary<string, ContainerMetricsConfig>(StringComparer.Ordinal);
            foreach (var (name, c) in m.Containers)
            {
                containers[name] = c with
                {
                    Path = EffectivePath(c.Path, workload.Source, $"{path}.containers.{name}.path", ref ok),
                    // Flotel: an override without a port inherits the workload's (Flotta would scrape port 0).
                    Port = c.Port > 0 ? c.Port : m.Port,
                };
            }

            return ok
                ? new WorkloadMetricsPlan
                {
                    Path = metricsPath,
                    Port = (int)m.Port,
                    IntervalSeconds = m.Interval > 0 ? (int)m.Interval : FlottaDefaults.IntervalSeconds,
                    AllowListName = m.AllowListName,
                    AllowList = allowList,
                    Containers = containers,
                }
                : null;
        }

        /// <summary>Flotta builds <c>http://ip:port + path</c>, so a path must start with '/'; empty means '/'.</summary>
        private string EffectivePath(string value, ManifestSource source, string path, ref bool ok)
        {
            if (value.Length == 0)
            {
                return FlottaDefaults.MetricsPath;
            }

            if (!value.StartsWith('/'))
            {
                AddError(source, path, $"`path` must start with /, got \"{value}\"");
                ok = false;
            }

            return value;
        }

        private ConfigMap? FindConfigMap(string ns, string name) =>
            _set.ConfigMaps.FirstOrDefault(c => c.Metadata.Namespace == ns && c.Metadata.Name == name);

        private void AddError(ManifestSource source, string path, string message) =>
            _resolved.Add(new ManifestDiagnostic(DiagnosticSeverity.Error, source.File, source.LineOf(path), path, message));

        private void AddWarning(ManifestSource source, string path, string message) =>
            _resolved.Add(new ManifestDiagnostic(DiagnosticSeverity.Warning, source.File, source.LineOf(path), path, message));

        private void AddError(string file, int line, string path, string message) =>
            _resolved.Add(new ManifestDiagnostic(DiagnosticSeverity.Error, file, line, path, message));
    }
}
