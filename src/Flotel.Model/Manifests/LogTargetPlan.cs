namespace Flotel.Model.Manifests;

/// <summary>A resolved <c>spec.logCollection</c> target: where and how the device sends workload logs.</summary>
public sealed record LogTargetPlan
{
    public required string Name { get; init; }

    /// <summary>Effective buffer size in KiB (12 when absent or 0).</summary>
    public required int BufferSizeKiB { get; init; }

    /// <summary>The ConfigMap's <c>Address</c> as written (<c>host:port</c>).</summary>
    public required string Address { get; init; }

    /// <summary>Host part of <see cref="Address"/>, without IPv6 brackets.</summary>
    public required string Host { get; init; }

    public required int Port { get; init; }

    public required SyslogProtocol Protocol { get; init; }

    public required SyslogFormat Format { get; init; }

    /// <summary>The syslog ConfigMap's name.</summary>
    public required string ConfigMapName { get; init; }

    /// <summary>Secret named by <c>CaSecretName</c> (TLS only), or null.</summary>
    public string? CaSecretName { get; init; }

    /// <summary>PEM text of that Secret's <c>ca.crt</c>, or null (system trust store).</summary>
    public string? CaCertificatePem { get; init; }

    public long BufferSizeBytes => BufferSizeKiB * 1024L;
}
