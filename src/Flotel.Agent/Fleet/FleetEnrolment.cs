using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Flotel.Agent.Fleet;

/// <summary>
/// Enrolment (docs/fleet.md §4, kubeadm's join model): fetch the fleet CA without trusting the listener, accept it only
/// if its SHA-256 is the token's pin, make the key pair here (ECDSA P-256), send a CSR with the token over a connection
/// that must chain to that CA, and keep the certificate. The key never leaves the device.
/// </summary>
public static class FleetEnrolment
{
    /// <summary>The CN of the CSR: the gateway replaces it with the token's device name whatever the CSR asks.</summary>
    public const string CsrCommonName = "flotel-device";

    /// <summary>Enrols with <paramref name="token"/> and writes the fleet files; returns the device's identity.</summary>
    /// <exception cref="FleetException">The gateway cannot be reached, its CA does not match the pin, or it refuses the token.</exception>
    public static async Task<DeviceIdentity> EnrolAsync(Uri gateway, EnrolmentToken token, FleetFiles files, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(files);

        string caPem;
        using (var unverified = FleetClient.Unverified(gateway))
        {
            var ca = await unverified.GetCaAsync(cancellationToken).ConfigureAwait(false);
            if (ca.Kind != FleetReplyKind.Ok)
            {
                throw new FleetException($"cannot get the fleet CA from {gateway}: {ca.Message}");
            }

            caPem = ca.Value!;
        }

        if (!MatchesPin(caPem, token.CaSha256))
        {
            throw new FleetException("the gateway's CA does not match the token");
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = CreateCsr(key);
        CertificateAnswer answer;
        using (var trust = Pipeline.Net.CustomCaTrust.FromPem(caPem))
        using (var pinned = new FleetClient(gateway, new System.Net.Security.SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = trust.ServerCertificateValidator(alsoSystemRoots: false),
        }))
        {
            var reply = await pinned.EnrolAsync(token, csr, cancellationToken).ConfigureAwait(false);
            if (reply.Kind != FleetReplyKind.Ok)
            {
                throw new FleetException(reply.Kind == FleetReplyKind.Refused
                    ? $"the gateway refused the token: {reply.Message}"
                    : $"cannot enrol at {gateway}: {reply.Message}");
            }

            answer = reply.Value!;
        }

        if (string.IsNullOrWhiteSpace(answer.Certificate))
        {
            throw new FleetException("the gateway's enrolment answer holds no certificate");
        }

        // The certificate must be for this key (a gateway bug or a swapped answer would otherwise brick the device later).
        try
        {
            using var check = X509Certificate2.CreateFromPem(answer.Certificate, key.ExportPkcs8PrivateKeyPem());
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new FleetException("the gateway's certificate does not match the device's key: " + e.Message, e);
        }

        // The key first and 0600 from creation; the certificate last, so a crash in between leaves no half identity.
        files.WriteAtomically(files.Key, key.ExportPkcs8PrivateKeyPem() + "\n", secret: true);
        files.WriteAtomically(files.Ca, caPem.TrimEnd() + "\n", secret: false);
        files.WriteAtomically(files.Gateway, gateway.ToString().TrimEnd('/') + "\n", secret: false);
        files.WriteAtomically(files.Certificate, answer.Certificate.TrimEnd() + "\n", secret: false);
        return DeviceIdentity.Load(files);
    }

    /// <summary>True when the first certificate of <paramref name="caPem"/> has DER SHA-256 <paramref name="sha256Hex"/>.</summary>
    public static bool MatchesPin(string caPem, string sha256Hex)
    {
        try
        {
            using var ca = X509Certificate2.CreateFromPem(caPem);
            return CryptographicOperations.FixedTimeEquals(
                SHA256.HashData(ca.RawData), Convert.FromHexString(sha256Hex));
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or FormatException)
        {
            return false;
        }
    }

    /// <summary>A PKCS#10 request for <paramref name="key"/>, signed with it (proof of possession).</summary>
    public static string CreateCsr(ECDsa key)
    {
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(CsrCommonName);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        return request.CreateSigningRequestPem();
    }
}
