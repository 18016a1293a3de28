using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Wire.Manifests;
using Flotel.Wire.RemoteWrite;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Outputs.RemoteWrite;

/// <summary>
/// <c>type: remote_write</c>: forwards the gateway's samples to a Prometheus remote-write 1.0 receiver (Prometheus
/// with <c>--web.enable-remote-write-receiver</c>, VictoriaMetrics, Thanos Receive, Mimir). Keys (docs/configuration.md,
/// "Gateway outputs"): the HTTP keys of <see cref="HttpOutputSettings"/> plus <c>maxSamplesPerSend</c>.
/// </summary>
public sealed class RemoteWriteOptions : OutputOptions
{
    /// <summary>The <c>type:</c> value.</summary>
    public const string TypeName = "remote_write";

    /// <summary>Headers the output sets itself (remote-write spec 1.0 §"Protocol"); custom headers may not replace them.</summary>
    public static readonly IReadOnlySet<string> ReservedHeaders = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        RemoteWriteHeaders.ContentTypeName, RemoteWriteHeaders.ContentEncodingName, RemoteWriteHeaders.VersionName, "User-Agent",
    };

    private static readonly HashSet<string> Keys = new(HttpOutputSettings.Keys, StringComparer.Ordinal) { "maxSamplesPerSend" };

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <summary>URL, timeout, auth, headers, TLS, backoff.</summary>
    public HttpOutputSettings Http { get; } = new();

    /// <summary>Most samples in one request; Prometheus's <c>max_samples_per_send</c> default is 2000.</summary>
    public int MaxSamplesPerSend { get; set; } = 2000;

    /// <summary>Reads one <c>outputs[]</c> entry (see <see cref="OutputTypes.Reader"/>).</summary>
    public static RemoteWriteOptions? Read(YamlFieldReader r, YamlMappingNode node, string name, string path)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(node);
        var options = new RemoteWriteOptions { Name = name };
        foreach (var (key, _, value) in r.Entries(node, path, Keys))
        {
            if (options.Http.TryRead(r, key, value, path, ReservedHeaders))
            {
                continue;
            }

            if (key == "maxSamplesPerSend")
            {
                options.MaxSamplesPerSend = (int?)r.Integer(value, path + ".maxSamplesPerSend", 1, 1_000_000) ?? options.MaxSamplesPerSend;
            }
        }

        options.Http.Validate(r, node, path);
        return options;
    }
}
