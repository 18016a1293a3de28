namespace Flotel.Model.Manifests;

/// <summary>Resolved <c>receiverConfiguration</c>. Always present, as Flotta always sends it; empty URL = remote write off.</summary>
public sealed record MetricsReceiverPlan
{
    public string Url { get; init; } = string.Empty;

    public int RequestNumSamples { get; init; } = FlottaDefaults.RequestNumSamples;

    public int TimeoutSeconds { get; init; } = FlottaDefaults.TimeoutSeconds;

    public string? CaSecretName { get; init; }

    /// <summary>PEM text of the Secret's <c>ca.crt</c> (https URLs only), or null.</summary>
    public string? CaCertificatePem { get; init; }

    /// <summary>Secret named by <c>authSecretName</c>, or null.</summary>
    public string? AuthSecretName { get; init; }

    /// <summary>The <c>Authorization</c> header every request carries (from <see cref="AuthSecretName"/>), or null.</summary>
    public ReceiverAuthorization? Authorization { get; init; }

    public bool IsEnabled => Url.Length > 0;
}
