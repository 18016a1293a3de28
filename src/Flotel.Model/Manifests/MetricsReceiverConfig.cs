namespace Flotel.Model.Manifests;

/// <summary><c>spec.metrics.receiverConfiguration</c>: where remote write goes. 0 means "not set".</summary>
public sealed record MetricsReceiverConfig
{
    public string Url { get; init; } = string.Empty;

    public long RequestNumSamples { get; init; }

    public long TimeoutSeconds { get; init; }

    /// <summary>Secret (device namespace) whose key <c>ca.crt</c> is the receiver's CA; used only for https URLs.</summary>
    public string? CaSecretName { get; init; }
}
