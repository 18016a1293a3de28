namespace Flotel.Model.Manifests;

/// <summary>One entry of <c>EdgeDevice.spec.logCollection</c>.</summary>
public sealed record LogCollectionConfig
{
    /// <summary><c>kind</c>: only <c>syslog</c> exists (CRD enum); empty when absent.</summary>
    public string Kind { get; init; } = string.Empty;

    /// <summary>
    /// <c>bufferSize</c> in KiB — Flotta's code multiplies it by 1024 (DW <c>internal/logs/workload.go:147</c>);
    /// the blogs' "10mb" is wrong. 0 when absent (the CRD default, 12, applies).
    /// </summary>
    public long BufferSizeKiB { get; init; }

    /// <summary><c>syslogConfig.name</c>: the ConfigMap with <c>Address</c>/<c>Protocol</c>; null when <c>syslogConfig</c> is absent.</summary>
    public string? SyslogConfigName { get; init; }

    /// <summary>True when <c>syslogConfig</c> is present (with or without a name).</summary>
    public bool HasSyslogConfig { get; init; }
}
