using Flotel.Pipeline.Net;
using Flotel.Wire.Manifests;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Configuration;

/// <summary>Reads <c>fleet:</c> (docs/configuration.md, docs/fleet.md §2) for <see cref="GatewayConfigLoader"/>.</summary>
internal static class FleetConfigReader
{
    private static readonly HashSet<string> Keys = new(StringComparer.Ordinal)
    {
        "enabled", "address", "serverNames", "ca", "certificateDays", "renewGraceDays", "offlineAfterSeconds",
    };

    private static readonly HashSet<string> CaKeys = new(StringComparer.Ordinal) { "certificate", "key" };

    public static void Read(YamlFieldReader r, YamlNode node, GatewayOptions options)
    {
        if (r.Mapping(node, "fleet") is not { } fleet)
        {
            return;
        }

        var o = options.Fleet ??= new FleetOptions();
        foreach (var (k, _, v) in r.Entries(fleet, "fleet", Keys))
        {
            switch (k)
            {
                case "enabled":
                    o.Enabled = r.Boolean(v, "fleet.enabled") ?? o.Enabled;
                    break;
                case "address":
                    if (r.String(v, "fleet.address") is { } address)
                    {
                        if (HostPort.TryParse(address, out _))
                        {
                            o.Address = address;
                        }
                        else
                        {
                            r.Error(v, "fleet.address", $"'{address}' is not an address; use HOST:PORT, e.g. 0.0.0.0:9443");
                        }
                    }

                    break;
                case "serverNames":
                    o.ServerNames.AddRange(r.StringList(v, "fleet.serverNames"));
                    break;
                case "ca":
                    if (r.Mapping(v, "fleet.ca") is { } ca)
                    {
                        foreach (var (ck, _, cv) in r.Entries(ca, "fleet.ca", CaKeys))
                        {
                            var file = GatewayConfigLoader.ExistingFile(r, cv, "fleet.ca." + ck);
                            if (ck == "certificate")
                            {
                                o.CaCertificateFile = file;
                            }
                            else
                            {
                                o.CaKeyFile = file;
                            }
                        }

                        if ((YamlFieldReader.Get(ca, "certificate") is null) != (YamlFieldReader.Get(ca, "key") is null))
                        {
                            r.Error(ca, "fleet.ca", "`certificate` and `key` are both required");
                        }
                    }

                    break;
                case "certificateDays":
                    o.CertificateDays = (int?)r.Integer(v, "fleet.certificateDays", 1, 3650) ?? o.CertificateDays;
                    break;
                case "renewGraceDays":
                    o.RenewGraceDays = (int?)r.Integer(v, "fleet.renewGraceDays", 0, 3650) ?? o.RenewGraceDays;
                    break;
                case "offlineAfterSeconds":
                    o.OfflineAfterSeconds = (int?)r.Integer(v, "fleet.offlineAfterSeconds", 10, 7 * 24 * 3600) ?? o.OfflineAfterSeconds;
                    break;
            }
        }
    }
}
