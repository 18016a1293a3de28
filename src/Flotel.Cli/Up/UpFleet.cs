using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Flotel.Agent.Fleet;
using Flotel.Cli.Commands;

namespace Flotel.Cli.Up;

/// <summary>
/// The fleet path of <c>flotel up</c> (docs/fleet.md §9): the manifests go to up's own gateway through the admin API
/// (the requests of <c>flotel apply</c>), and the agent enrols with a token made for the manifests' EdgeDevice (the
/// request of <c>flotel token create</c>), as a device enrols with a remote gateway. A data directory whose agent is
/// already enrolled, for that device and with that gateway's CA, is used as it is: no new token.
/// </summary>
internal static class UpFleet
{
    /// <summary>How long up's own enrolment token may be used: it is used at once.</summary>
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(10);

    /// <summary>The agent's identity and how it was obtained, for the summary.</summary>
    /// <param name="Identity">The device's certificate and the pinned fleet CA.</param>
    /// <param name="Files">The agent's <c>DATA/fleet/</c>.</param>
    /// <param name="Gateway">The fleet listener, <c>https://127.0.0.1:PORT/</c>.</param>
    /// <param name="NewlyEnrolled">True when this start made a token and enrolled; false when the data directory was enrolled already.</param>
    internal sealed record Enrolment(DeviceIdentity Identity, FleetFiles Files, Uri Gateway, bool NewlyEnrolled);

    /// <summary>
    /// Applies <paramref name="manifests"/> to the gateway at <paramref name="http"/> and enrols the agent of
    /// <paramref name="agentData"/> at <paramref name="fleet"/> unless it is enrolled already. Progress lines and problems
    /// go to <paramref name="error"/>; null after a problem was printed.
    /// </summary>
    public static async Task<Enrolment?> PrepareAsync(
        string manifests, IPEndPoint http, IPEndPoint fleet, string gatewayData, string agentData, TextWriter error, CancellationToken cancellationToken)
    {
        if (await FleetManifestFiles.ReadAsync([manifests], "up", error).ConfigureAwait(false) is not { } entries)
        {
            return null;
        }

        var devices = entries.Where(e => e.Key.StartsWith("edgedevice/", StringComparison.Ordinal)).Select(e => e.Key["edgedevice/".Length..]).ToList();
        if (devices.Count != 1)
        {
            var found = devices.Count > 0 ? ": " + string.Join(", ", devices) : string.Empty;
            await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"flotel up: --manifests {manifests} must hold exactly one EdgeDevice for up's agent, found {devices.Count}{found}")).ConfigureAwait(false);
            return null;
        }

        var device = devices[0];
        var gateway = new Uri(string.Create(CultureInfo.InvariantCulture, $"https://{fleet}/"));
        using var client = new GatewayClient(new Uri(string.Create(CultureInfo.InvariantCulture, $"http://{http}/")), "FLOTEL_ADMIN_TOKEN", "--http");
        try
        {
            var applied = await ApplyCommand.SendAsync(client, entries, cancellationToken).ConfigureAwait(false);
            var results = string.Join(", ", applied.Select(a => a.Object + " " + a.Result));
            await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"flotel up: applied {applied.Count} object(s) to the fleet: {results}")).ConfigureAwait(false);

            var files = new FleetFiles(agentData);
            if (await ExistingAsync(files, device, Path.Combine(gatewayData, "fleet", "ca.crt"), error).ConfigureAwait(false) is { } enrolled)
            {
                await error.WriteLineAsync($"flotel up: device {device} is already enrolled ({files.Directory}): no new token").ConfigureAwait(false);
                return new Enrolment(enrolled, files, gateway, NewlyEnrolled: false);
            }

            var (token, _) = await TokenCommand.CreateAsync(client, device, TokenLifetime, cancellationToken).ConfigureAwait(false);
            if (!EnrolmentToken.TryParse(token, out var parsed, out var why))
            {
                await error.WriteLineAsync("flotel up: the gateway's enrolment token is not usable: " + why).ConfigureAwait(false);
                return null;
            }

            await error.WriteLineAsync($"flotel up: enrolling device {device} at {gateway} with a new single-use token").ConfigureAwait(false);
            var identity = await FleetEnrolment.EnrolAsync(gateway, parsed!, files, cancellationToken).ConfigureAwait(false);
            return new Enrolment(identity, files, gateway, NewlyEnrolled: true);
        }
        catch (GatewayClientException e)
        {
            await error.WriteLineAsync("flotel up: fleet: " + e.Message).ConfigureAwait(false);
            return null;
        }
        catch (FleetException e)
        {
            await error.WriteLineAsync("flotel up: the agent cannot enrol: " + e.Message).ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>
    /// The identity already in <paramref name="files"/> when it is for <paramref name="device"/> and pinned to the CA in
    /// <paramref name="gatewayCaFile"/>; otherwise null, after removing an identity that cannot work with this gateway
    /// (other device, other CA: the gateway's data was removed or replaced) so the agent enrols anew.
    /// </summary>
    private static async Task<DeviceIdentity?> ExistingAsync(FleetFiles files, string device, string gatewayCaFile, TextWriter error)
    {
        if (!files.IsEnrolled)
        {
            return null;
        }

        string why;
        try
        {
            var identity = DeviceIdentity.Load(files);
            if (identity.DeviceName == device && SameCertificate(identity.CaPem, await File.ReadAllTextAsync(gatewayCaFile).ConfigureAwait(false)))
            {
                return identity;
            }

            why = identity.DeviceName == device ? "it trusts another fleet CA than this gateway's" : $"it is enrolled as {identity.DeviceName}";
            identity.Dispose();
        }
        catch (Exception e) when (e is FleetException or IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            why = e.Message;
        }

        await error.WriteLineAsync(
            $"flotel up: the agent's enrolment in {files.Directory} is not for this gateway and device ({why}): enrolling again").ConfigureAwait(false);
        Directory.Delete(files.Directory, recursive: true);
        return null;
    }

    private static bool SameCertificate(string pemA, string pemB)
    {
        using var a = X509Certificate2.CreateFromPem(pemA);
        using var b = X509Certificate2.CreateFromPem(pemB);
        return a.RawData.AsSpan().SequenceEqual(b.RawData);
    }
}
