using System.Globalization;
using System.Text;
using Flotel.Model.Manifests;
using YamlDotNet.RepresentationModel;

namespace Flotel.Wire.Manifests;

/// <summary>
/// Reads one YAML document (an object with <c>apiVersion</c>/<c>kind</c>) into the manifest model.
/// Checks shape, types and ranges here (field names, units and ranges from Flotta's CRDs, docs/reference/flotta-device-worker.md §2);
/// references between objects are checked later by <see cref="DevicePlanResolver"/>.
/// </summary>
internal sealed class ManifestDocumentReader
{
    internal const string FlottaApiVersion = "management.project-flotta.io/v1alpha1";
    internal const string CoreApiVersion = "v1";

    private static readonly HashSet<string> FlottaTopFields = new(StringComparer.Ordinal) { "apiVersion", "kind", "metadata", "spec", "status" };
    private static readonly HashSet<string> ConfigMapTopFields = new(StringComparer.Ordinal) { "apiVersion", "kind", "metadata", "data", "binaryData", "immutable" };
    private static readonly HashSet<string> SecretTopFields = new(StringComparer.Ordinal) { "apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable" };

    private static readonly HashSet<string> MetadataFields = new(StringComparer.Ordinal)
    {
        "name", "namespace", "labels", "annotations", "generateName", "uid", "resourceVersion", "generation",
        "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "finalizers",
        "managedFields", "selfLink",
    };

    // EdgeDeviceSpec fields Flotel does not use are known, so they are not reported as typos.
    private static readonly HashSet<string> DeviceSpecFields = new(StringComparer.Ordinal) { "logCollection", "metrics", "requestTime", "heartbeat", "osInformation", "storage" };
    private static readonly HashSet<string> LogCollectionFields = new(StringComparer.Ordinal) { "kind", "bufferSize", "syslogConfig" };
    private static readonly HashSet<string> NameRefFields = new(StringComparer.Ordinal) { "name" };
    private static readonly HashSet<string> DeviceMetricsFields = new(StringComparer.Ordinal) { "receiverConfiguration", "system", "dataTransfer", "retention" };
    private static readonly HashSet<string> ReceiverFields = new(StringComparer.Ordinal) { "url", "requestNumSamples", "timeoutSeconds", "caSecretName", "authSecretName" };
    private static readonly HashSet<string> ComponentFields = new(StringComparer.Ordinal) { "interval", "allowList", "disabled" };
    private static readonly HashSet<string> RetentionFields = new(StringComparer.Ordinal) { "maxHours", "maxMiB" };
    private static readonly HashSet<string> WorkloadSpecFields = new(StringComparer.Ordinal) { "deviceSelector", "device", "type", "pod", "logCollection", "metrics", "data", "imageRegistries" };
    private static readonly HashSet<string> SelectorFields = new(StringComparer.Ordinal) { "matchLabels", "matchExpressions" };
    private static readonly HashSet<string> RequirementFields = new(StringComparer.Ordinal) { "key", "operator", "values" };
    private static readonly HashSet<string> PodFields = new(StringComparer.Ordinal) { "spec" };
    private static readonly HashSet<string> WorkloadMetricsFields = new(StringComparer.Ordinal) { "path", "port", "interval", "allowList", "containers" };
    private static readonly HashSet<string> ContainerMetricsFields = new(StringComparer.Ordinal) { "path", "port", "disabled" };

    private readonly YamlFieldReader _r;

    public ManifestDocumentReader(YamlFieldReader reader) => _r = reader;

    /// <summary>Fields every object has; null when <c>metadata.name</c> is missing (reported).</summary>
    public ObjectMeta? ReadMetadata(YamlMappingNode root)
    {
        var node = YamlFieldReader.Get(root, "metadata");
        var metadata = _r.Mapping(node, "metadata");
        if (metadata is null)
        {
            _r.Error(node ?? root, "metadata", "`metadata.name` is required");
            return null;
        }

        _r.Entries(metadata, "metadata", MetadataFields);
        var nameNode = YamlFieldReader.Get(metadata, "name");
        var name = _r.String(nameNode, "metadata.name");
        if (string.IsNullOrEmpty(name))
        {
            _r.Error(nameNode ?? metadata, "metadata.name", "`name` is required");
            return null;
        }

        var ns = _r.String(YamlFieldReader.Get(metadata, "namespace"), "metadata.namespace");
        _r.StringMap(YamlFieldReader.Get(metadata, "annotations"), "metadata.annotations");
        return new ObjectMeta
        {
            Name = name,
            Namespace = string.IsNullOrEmpty(ns) ? ObjectMeta.DefaultNamespace : ns,
            Labels = _r.StringMap(YamlFieldReader.Get(metadata, "labels"), "metadata.labels"),
        };
    }

    public EdgeDevice ReadEdgeDevice(YamlMappingNode root, ObjectMeta metadata, ManifestSource source)
    {
        _r.Entries(root, string.Empty, FlottaTopFields);
        var spec = _r.Mapping(YamlFieldReader.Get(root, "spec"), "spec");
        if (spec is not null)
        {
            _r.Entries(spec, "spec", DeviceSpecFields);
        }

        var targets = new Dictionary<string, LogCollectionConfig>(StringComparer.Ordinal);
        if (_r.Mapping(YamlFieldReader.Get(spec, "logCollection"), "spec.logCollection") is { } logCollection)
        {
            foreach (var (name, _, value) in _r.Entries(logCollection, "spec.logCollection"))
            {
                var path = "spec.logCollection." + name;
                var target = _r.Mapping(value, path);
                if (target is null)
                {
                    _r.Error(value, path, "expected a mapping with `kind`, `bufferSize` and `syslogConfig`");
                    continue;
                }

                _r.Entries(target, path, LogCollectionFields);
                var syslogNode = YamlFieldReader.Get(target, "syslogConfig");
                var syslog = _r.Mapping(syslogNode, path + ".syslogConfig");
                if (syslog is not null)
                {
                    _r.Entries(syslog, path + ".syslogConfig", NameRefFields);
                }

                targets[name] = new LogCollectionConfig
                {
                    Kind = _r.String(YamlFieldReader.Get(target, "kind"), path + ".kind") ?? string.Empty,
                    // CRD: int32, minimum 1, default 12; Flotta multiplies by 1024, so cap where that stays an int32.
                    BufferSizeKiB = _r.Integer(YamlFieldReader.Get(target, "bufferSize"), path + ".bufferSize", 0, int.MaxValue / 1024, "(KiB; 0 or absent means 12)") ?? 0,
                    HasSyslogConfig = syslog is not null,
                    SyslogConfigName = _r.String(YamlFieldReader.Get(syslog, "name"), path + ".syslogConfig.name"),
                };
            }
        }

        return new EdgeDevice
        {
            Metadata = metadata,
            LogCollection = targets,
            Metrics = ReadDeviceMetrics(YamlFieldReader.Get(spec, "metrics")),
            Source = source,
        };
    }

    private DeviceMetricsConfig? ReadDeviceMetrics(YamlNode? node)
    {
        const string path = "spec.metrics";
        if (_r.Mapping(node, path) is not { } metrics)
        {
            return null;
        }

        _r.Entries(metrics, path, DeviceMetricsFields);
        MetricsReceiverConfig? receiver = null;
        if (_r.Mapping(YamlFieldReader.Get(metrics, "receiverConfiguration"), path + ".receiverConfiguration") is { } rc)
        {
            const string rp = path + ".receiverConfiguration";
            _r.Entries(rc, rp, ReceiverFields);
            receiver = new MetricsReceiverConfig
            {
                Url = _r.String(YamlFieldReader.Get(rc, "url"), rp + ".url") ?? string.Empty,
                RequestNumSamples = _r.Integer(YamlFieldReader.Get(rc, "requestNumSamples"), rp + ".requestNumSamples", 0, int.MaxValue, "(0 or absent means 30000)") ?? 0,
                TimeoutSeconds = _r.Integer(YamlFieldReader.Get(rc, "timeoutSeconds"), rp + ".timeoutSeconds", 0, int.MaxValue, "(0 or absent means 10)") ?? 0,
                CaSecretName = NonEmpty(_r.String(YamlFieldReader.Get(rc, "caSecretName"), rp + ".caSecretName")),
                AuthSecretName = NonEmpty(_r.String(YamlFieldReader.Get(rc, "authSecretName"), rp + ".authSecretName")),
            };
        }

        RetentionConfig? retention = null;
        if (_r.Mapping(YamlFieldReader.Get(metrics, "retention"), path + ".retention") is { } rt)
        {
            _r.Entries(rt, path + ".retention", RetentionFields);
            retention = new RetentionConfig
            {
                MaxHours = _r.Integer(YamlFieldReader.Get(rt, "maxHours"), path + ".retention.maxHours", 0, int.MaxValue, "(0 or absent means 168, 7 days)") ?? 0,
                MaxMiB = _r.Integer(YamlFieldReader.Get(rt, "maxMiB"), path + ".retention.maxMiB", 0, int.MaxValue, "(0 or absent means no size limit)") ?? 0,
            };
        }

        return new DeviceMetricsConfig
        {
            ReceiverConfiguration = receiver,
            System = ReadComponent(YamlFieldReader.Get(metrics, "system"), path + ".system"),
            DataTransfer = ReadComponent(YamlFieldReader.Get(metrics, "dataTransfer"), path + ".dataTransfer"),
            Retention = retention,
        };
    }

    private ComponentMetricsConfig? ReadComponent(YamlNode? node, string path)
    {
        if (_r.Mapping(node, path) is not { } component)
        {
            return null;
        }

        _r.Entries(component, path, ComponentFields);
        return new ComponentMetricsConfig
        {
            Interval = _r.Integer(YamlFieldReader.Get(component, "interval"), path + ".interval", 0, int.MaxValue, "(seconds; 0 or absent means 60)") ?? 0,
            AllowListName = ReadNameRef(YamlFieldReader.Get(component, "allowList"), path + ".allowList"),
            Disabled = _r.Boolean(YamlFieldReader.Get(component, "disabled"), path + ".disabled") ?? false,
        };
    }

    /// <summary>A Flotta <c>NameRef</c> (<c>{name: x}</c>); <c>name</c> is required when the reference is present.</summary>
    private string? ReadNameRef(YamlNode? node, string path)
    {
        if (_r.Mapping(node, path) is not { } reference)
        {
            return null;
        }

        _r.Entries(reference, path, NameRefFields);
        var nameNode = YamlFieldReader.Get(reference, "name");
        var name = _r.String(nameNode, path + ".name");
        if (string.IsNullOrEmpty(name))
        {
            _r.Error(nameNode ?? reference, path + ".name", "`name` is required");
            return null;
        }

        return name;
    }

    public EdgeWorkload ReadEdgeWorkload(YamlMappingNode root, ObjectMeta metadata, ManifestSource source)
    {
        _r.Entries(root, string.Empty, FlottaTopFields);
        var spec = _r.Mapping(YamlFieldReader.Get(root, "spec"), "spec");
        if (spec is null)
        {
            _r.Error(root, "spec", "`spec` is required");
        }
        else
        {
            _r.Entries(spec, "spec", WorkloadSpecFields);
        }

        PodSpec? pod = null;
        string? podYaml = null;
        var podNode = _r.Mapping(YamlFieldReader.Get(spec, "pod"), "spec.pod");
        if (podNode is not null)
        {
            _r.Entries(podNode, "spec.pod", PodFields);
        }

        var podSpecNode = _r.Mapping(YamlFieldReader.Get(podNode, "spec"), "spec.pod.spec");
        if (podSpecNode is not null)
        {
            pod = ReadPodSpec(podSpecNode, "spec.pod.spec");
            podYaml = PodManifest.ToYaml(metadata.Name, podSpecNode);
        }

        return new EdgeWorkload
        {
            Metadata = metadata,
            Device = NonEmpty(_r.String(YamlFieldReader.Get(spec, "device"), "spec.device")),
            DeviceSelector = ReadSelector(YamlFieldReader.Get(spec, "deviceSelector"), "spec.deviceSelector"),
            Type = _r.String(YamlFieldReader.Get(spec, "type"), "spec.type") ?? string.Empty,
            Pod = pod,
            PodManifestYaml = podYaml,
            LogCollection = NonEmpty(_r.String(YamlFieldReader.Get(spec, "logCollection"), "spec.logCollection")),
            Metrics = ReadWorkloadMetrics(YamlFieldReader.Get(spec, "metrics"), "spec.metrics"),
            Source = source,
        };
    }

    private LabelSelector? ReadSelector(YamlNode? node, string path)
    {
        if (_r.Mapping(node, path) is not { } selector)
        {
            return null;
        }

        _r.Entries(selector, path, SelectorFields);
        var requirements = new List<LabelSelectorRequirement>();
        if (_r.Sequence(YamlFieldReader.Get(selector, "matchExpressions"), path + ".matchExpressions") is { } expressions)
        {
            for (var i = 0; i < expressions.Children.Count; i++)
            {
                var itemPath = string.Create(CultureInfo.InvariantCulture, $"{path}.matchExpressions[{i}]");
                var item = _r.Mapping(expressions.Children[i], itemPath);
                if (item is null)
                {
                    continue;
                }

                _r.Entries(item, itemPath, RequirementFields);
                var key = _r.String(YamlFieldReader.Get(item, "key"), itemPath + ".key");
                var opNode = YamlFieldReader.Get(item, "operator");
                var op = _r.String(opNode, itemPath + ".operator");
                var values = _r.StringList(YamlFieldReader.Get(item, "values"), itemPath + ".values");
                if (string.IsNullOrEmpty(key))
                {
                    _r.Error(item, itemPath + ".key", "`key` is required");
                    continue;
                }

                // Kubernetes LabelSelectorRequirement validation: In/NotIn need values, Exists/DoesNotExist take none.
                switch (op)
                {
                    case LabelSelectorRequirement.In or LabelSelectorRequirement.NotIn when values.Count == 0:
                        _r.Error(item, itemPath + ".values", $"`values` must not be empty for operator {op}");
                        continue;
                    case LabelSelectorRequirement.Exists or LabelSelectorRequirement.DoesNotExist when values.Count > 0:
                        _r.Error(item, itemPath + ".values", $"`values` must be empty for operator {op}");
                        continue;
                    case LabelSelectorRequirement.In or LabelSelectorRequirement.NotIn or LabelSelectorRequirement.Exists or LabelSelectorRequirement.DoesNotExist:
                        break;
                    default:
                        _r.Error(opNode ?? item, itemPath + ".operator", $"`operator` must be In, NotIn, Exists or DoesNotExist, got \"{op}\"");
                        continue;
                }

                requirements.Add(new LabelSelectorRequirement { Key = key, Operator = op, Values = values });
            }
        }

        return new LabelSelector
        {
            MatchLabels = _r.StringMap(YamlFieldReader.Get(selector, "matchLabels"), path + ".matchLabels"),
            MatchExpressions = requirements,
        };
    }

    /// <summary>
    /// The typed subset of the pod spec. Other pod fields are podman's business and are not reported as unknown.
    /// </summary>
    private PodSpec ReadPodSpec(YamlMappingNode spec, string path)
    {
        var containers = new List<ContainerSpec>();
        var containersNode = YamlFieldReader.Get(spec, "containers");
        var sequence = _r.Sequence(containersNode, path + ".containers");
        if (sequence is null || sequence.Children.Count == 0)
        {
            _r.Error(containersNode ?? spec, path + ".containers", "`containers` must list at least one container");
        }
        else
        {
            for (var i = 0; i < sequence.Children.Count; i++)
            {
                var cPath = string.Create(CultureInfo.InvariantCulture, $"{path}.containers[{i}]");
                if (_r.Mapping(sequence.Children[i], cPath) is { } c && ReadContainer(c, cPath) is { } container)
                {
                    containers.Add(container);
                }
            }
        }

        return new PodSpec
        {
            Containers = containers,
            HostNetwork = _r.Boolean(YamlFieldReader.Get(spec, "hostNetwork"), path + ".hostNetwork") ?? false,
        };
    }

    private ContainerSpec? ReadContainer(YamlMappingNode c, string path)
    {
        var nameNode = YamlFieldReader.Get(c, "name");
        var name = _r.String(nameNode, path + ".name");
        var imageNode = YamlFieldReader.Get(c, "image");
        var image = _r.String(imageNode, path + ".image");
        if (string.IsNullOrEmpty(name))
        {
            _r.Error(nameNode ?? c, path + ".name", "`name` is required");
        }

        if (string.IsNullOrEmpty(image))
        {
            _r.Error(imageNode ?? c, path + ".image", "`image` is required");
        }

        var env = new List<KeyValuePair<string, string>>();
        if (_r.Sequence(YamlFieldReader.Get(c, "env"), path + ".env") is { } envs)
        {
            for (var i = 0; i < envs.Children.Count; i++)
            {
                var ePath = string.Create(CultureInfo.InvariantCulture, $"{path}.env[{i}]");
                if (_r.Mapping(envs.Children[i], ePath) is not { } e)
                {
                    continue;
                }

                var envName = _r.String(YamlFieldReader.Get(e, "name"), ePath + ".name");
                if (string.IsNullOrEmpty(envName))
                {
                    _r.Error(e, ePath + ".name", "`name` is required");
                    continue;
                }

                if (YamlFieldReader.Get(e, "valueFrom") is null)
                {
                    env.Add(new(envName, _r.String(YamlFieldReader.Get(e, "value"), ePath + ".value") ?? string.Empty));
                }
            }
        }

        var ports = new List<ContainerPort>();
        if (_r.Sequence(YamlFieldReader.Get(c, "ports"), path + ".ports") is { } portNodes)
        {
            for (var i = 0; i < portNodes.Children.Count; i++)
            {
                var pPath = string.Create(CultureInfo.InvariantCulture, $"{path}.ports[{i}]");
                if (_r.Mapping(portNodes.Children[i], pPath) is not { } p)
                {
                    continue;
                }

                ports.Add(new ContainerPort
                {
                    ContainerPortNumber = (int)(_r.Integer(YamlFieldReader.Get(p, "containerPort"), pPath + ".containerPort", 1, 65535) ?? 0),
                    HostPort = (int)(_r.Integer(YamlFieldReader.Get(p, "hostPort"), pPath + ".hostPort", 0, 65535) ?? 0),
                    Protocol = _r.String(YamlFieldReader.Get(p, "protocol"), pPath + ".protocol") ?? "TCP",
                });
            }
        }

        if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(image))
        {
            return null;
        }

        return new ContainerSpec
        {
            Name = name,
            Image = image,
            Command = _r.StringList(YamlFieldReader.Get(c, "command"), path + ".command"),
            Args = _r.StringList(YamlFieldReader.Get(c, "args"), path + ".args"),
            Env = env,
            Ports = ports,
        };
    }

    private WorkloadMetricsConfig? ReadWorkloadMetrics(YamlNode? node, string path)
    {
        if (_r.Mapping(node, path) is not { } metrics)
        {
            return null;
        }

        _r.Entries(metrics, path, WorkloadMetricsFields);
        var containers = new Dictionary<string, ContainerMetricsConfig>(StringComparer.Ordinal);
        if (_r.Mapping(YamlFieldReader.Get(metrics, "containers"), path + ".containers") is { } cs)
        {
            foreach (var (name, _, value) in _r.Entries(cs, path + ".containers"))
            {
                var cPath = path + ".containers." + name;
                if (_r.Mapping(value, cPath) is not { } c)
                {
                    continue;
                }

                _r.Entries(c, cPath, ContainerMetricsFields);
                containers[name] = new ContainerMetricsConfig
                {
                    Path = _r.String(YamlFieldReader.Get(c, "path"), cPath + ".path") ?? string.Empty,
                    Port = _r.Integer(YamlFieldReader.Get(c, "port"), cPath + ".port", 0, 65535) ?? 0,
                    Disabled = _r.Boolean(YamlFieldReader.Get(c, "disabled"), cPath + ".disabled") ?? false,
                };
            }
        }

        return new WorkloadMetricsConfig
        {
            Path = _r.String(YamlFieldReader.Get(metrics, "path"), path + ".path") ?? string.Empty,
            Port = _r.Integer(YamlFieldReader.Get(metrics, "port"), path + ".port", 0, 65535, "(0 or absent means no scraping)") ?? 0,
            Interval = _r.Integer(YamlFieldReader.Get(metrics, "interval"), path + ".interval", 0, int.MaxValue, "(seconds; 0 or absent means 60)") ?? 0,
            AllowListName = ReadNameRef(YamlFieldReader.Get(metrics, "allowList"), path + ".allowList"),
            Containers = containers,
        };
    }

    public ConfigMap ReadConfigMap(YamlMappingNode root, ObjectMeta metadata, ManifestSource source)
    {
        _r.Entries(root, string.Empty, ConfigMapTopFields);
        return new ConfigMap
        {
            Metadata = metadata,
            Data = _r.StringMap(YamlFieldReader.Get(root, "data"), "data"),
            Source = source,
        };
    }

    public Secret ReadSecret(YamlMappingNode root, ObjectMeta metadata, ManifestSource source)
    {
        _r.Entries(root, string.Empty, SecretTopFields);
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (_r.Mapping(YamlFieldReader.Get(root, "data"), "data") is { } encoded)
        {
            foreach (var (key, _, value) in _r.Entries(encoded, "data"))
            {
                var text = _r.String(value, "data." + key);
                if (text is null)
                {
                    continue;
                }

                try
                {
                    data[key] = Convert.FromBase64String(text);
                }
                catch (FormatException)
                {
                    _r.Error(value, "data." + key, "expected base64 (Secret `data` values are base64-encoded; use `stringData` for plain text)");
                }
            }
        }

        // stringData wins over data, as the API server merges them.
        foreach (var (key, value) in _r.StringMap(YamlFieldReader.Get(root, "stringData"), "stringData"))
        {
            data[key] = Encoding.UTF8.GetBytes(value);
        }

        return new Secret
        {
            Metadata = metadata,
            Type = NonEmpty(_r.String(YamlFieldReader.Get(root, "type"), "type")) ?? "Opaque",
            Data = data,
            Source = source,
        };
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
