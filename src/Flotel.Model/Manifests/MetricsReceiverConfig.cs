namespace Flotel.Model.Manifests;

/// <summary><c>spec.metrics.receiverConfiguration</c>: where remote write goes. 0 means "not set".</summary>
public sealed record MetricsReceiverConfig
{
    public string Url { get; init; } = string.Empty;

    public long RequestNumSamples { get; init; }

    public long TimeoutSeconds { get; init; }

    /// <summary>Secret (device namespace) whose key <c>ca.crt</c> is the receiver's CA; used only for https URLs.</summary>
    public string? CaSecretName { get; init; }

    /// <summary>
    /// Flotel extension: Secret (device namespace) holding the receiver's credentials — key <c>token</c> for a bearer
    /// token, or keys <c>username</c> and <c>password</c> for basic auth.
    /// </summary>
    public string? AuthSecretName { get; init; }
}
