namespace Flotel.Gateway.Configuration;

/// <summary>A server certificate and, optionally, the CA that client certificates must chain to (mutual TLS).</summary>
public sealed class TlsOptions
{
    /// <summary>PEM certificate (chain) file.</summary>
    public required string CertificateFile { get; init; }

    /// <summary>PEM private key file.</summary>
    public required string KeyFile { get; init; }

    /// <summary>PEM CA bundle; when set, clients must present a certificate that chains to it.</summary>
    public string? ClientCaFile { get; init; }
}
