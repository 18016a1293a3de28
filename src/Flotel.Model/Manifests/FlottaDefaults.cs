namespace Flotel.Model.Manifests;

/// <summary>Flotta's defaults (docs/reference/flotta-device-worker.md §2, §4.4–4.6), applied when a value is absent or 0.</summary>
public static class FlottaDefaults
{
    /// <summary>CRD default of <c>logCollection.*.bufferSize</c>, KiB.</summary>
    public const int BufferSizeKiB = 12;

    /// <summary>Operator <c>GetDefaultMetricsReceiver()</c> (the docs' 10000 is wrong).</summary>
    public const int RequestNumSamples = 30000;

    /// <summary>Operator <c>GetDefaultMetricsReceiver()</c>.</summary>
    public const int TimeoutSeconds = 10;

    /// <summary>System, data-transfer and workload scrape interval, seconds.</summary>
    public const int IntervalSeconds = 60;

    /// <summary>Workload metrics path (not <c>/metrics</c>).</summary>
    public const string MetricsPath = "/";

    /// <summary>Local metrics retention: DW <c>DefaultRetentionDuration</c>, 7 days.</summary>
    public const int RetentionHours = 7 * 24;

    /// <summary>Syslog ConfigMap key for the collector's <c>host:port</c> (case-sensitive).</summary>
    public const string AddressKey = "Address";

    /// <summary>Syslog ConfigMap key for the transport.</summary>
    public const string ProtocolKey = "Protocol";

    /// <summary>Flotel's syslog ConfigMap key for the line layout (<c>flotta</c> or <c>rfc5424</c>).</summary>
    public const string FormatKey = "Format";

    /// <summary>Flotel's syslog ConfigMap key naming a Secret whose <c>ca.crt</c> verifies a TLS collector.</summary>
    public const string CaSecretNameKey = "CaSecretName";

    /// <summary>Secret key holding a PEM CA bundle.</summary>
    public const string CaCertKey = "ca.crt";

    /// <summary>Allow-list ConfigMap key holding YAML <c>names: [..]</c>.</summary>
    public const string AllowListKey = "metrics_list.yaml";

    /// <summary>
    /// DW <c>DefaultSystemAllowList()</c> (<c>internal/metrics/allow-list.go</c>): the node_exporter metrics
    /// collected when <c>spec.metrics.system.allowList</c> is absent. Matched exactly on <c>__name__</c>.
    /// </summary>
    public static IReadOnlyList<string> SystemAllowList { get; } =
    [
        "node_cpu_frequency_hertz",
        "node_cpu_scaling_frequency_min_hertz",
        "node_cpu_scaling_frequency_hertz",
        "node_cpu_scaling_frequency_max_hertz",
        "node_disk_read_bytes_total",
        "node_disk_written_bytes_total",
        "node_memory_MemAvailable_bytes",
        "node_memory_MemFree_bytes",
        "node_memory_MemTotal_bytes",
        "node_network_info",
        "node_network_receive_bytes_total",
        "node_network_transmit_bytes_total",
    ];
}
