using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using Flotel.Gateway.Fleet;
using Flotel.Pipeline.Net;

namespace Flotel.Gateway.Inputs.Syslog;

/// <summary>
/// Who may open a syslog TLS connection and whom it speaks for (docs/fleet.md §6). Two client CAs: the operator's
/// <c>syslog.tls.clientCa</c> (mutual TLS: when set, every client must present a certificate of it or of the fleet CA)
/// and, with the fleet enabled, the fleet CA. A current device certificate of the fleet CA names the connection's
/// device (its CN); a revoked or expired one is refused at the handshake. Without <c>clientCa</c> a client certificate
/// stays optional: a connection without one, or with a certificate of another CA, is served as before and names no
/// device. The device a handshake accepted is kept for its stream until the connection takes it
/// (<see cref="TakeDevice"/>).
/// </summary>
public sealed class SyslogTlsClients
{
    private readonly CustomCaTrust? _clientCa;
    private readonly IDeviceCertificates? _devices;

    /// <summary>Devices accepted by a handshake whose connection has not taken them yet (keys: the <see cref="SslStream"/>).</summary>
    private readonly ConditionalWeakTable<object, DeviceIdentity> _accepted = [];

    /// <param name="clientCa">The operator's client CA (<c>syslog.tls.clientCa</c>), or null.</param>
    /// <param name="devices">The fleet's device certificates, or null when the fleet is off.</param>
    public SyslogTlsClients(CustomCaTrust? clientCa, IDeviceCertificates? devices)
    {
        _clientCa = clientCa;
        _devices = devices;
    }

    /// <summary>The fleet, when device certificates are accepted.</summary>
    public IDeviceCertificates? Devices => _devices;

    /// <summary>Sets what the server asks of clients on <paramref name="options"/>: a certificate request and the check below.</summary>
    public SslServerAuthenticationOptions Apply(SslServerAuthenticationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // "Required" makes the server ask for a certificate; whether a client without one may go on is the callback's
        // answer (.NET calls it with a null certificate then).
        options.ClientCertificateRequired = _clientCa is not null || _devices is not null;
        options.RemoteCertificateValidationCallback = options.ClientCertificateRequired ? Validate : null;
        return options;
    }

    /// <summary>The device the handshake of <paramref name="stream"/> accepted (and forgets it); null without one.</summary>
    public DeviceIdentity? TakeDevice(SslStream stream)
    {
        if (_accepted.TryGetValue(stream, out var identity))
        {
            _accepted.Remove(stream);
            return identity;
        }

        return null;
    }

    /// <summary>The handshake's check of the client certificate (the platform's own chain verdict is not used: both CAs are private).</summary>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        ArgumentNullException.ThrowIfNull(sender);
        if (certificate is null)
        {
            return _clientCa is null;
        }

        if (_devices is not null)
        {
            var leaf = certificate as X509Certificate2;
            using var loaded = leaf is null ? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()) : null;
            var identity = _devices.CheckClientCertificate(leaf ?? loaded!, out var refusal);
            if (identity is not null)
            {
                _accepted.AddOrUpdate(sender, identity);
                return true;
            }

            if (refusal is not null)
            {
                return false;
            }
        }

        // Not a device certificate: the operator's CA decides; without one a client certificate is optional, so a
        // certificate of another CA counts as none (the connection names no device).
        return _clientCa is null || _clientCa.IsClientTrusted(certificate, chain);
    }
}
