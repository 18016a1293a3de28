using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Wire.Manifests;
using Flotel.Wire.RemoteWrite;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Outputs.RemoteWrite;

/// <summary>
/// <c>type: remote_write</c>: forwards the gateway's samples to a Prometheus remote-write 1.0 receiver (Prometheus
/// with <c>--web.enable-remote-write-receiver</c>, VictoriaMetrics, Thanos Receive, Mimir). Keys, declared below and
/// tabled in docs/configuration.md ("Gateway outputs"): the HTTP keys of <see cref="HttpOutputSettings"/> plus
/// <c>maxSamplesPerSend</c>.
/// </summary>
public sealed class RemoteWriteOptions : OutputOptions, IReservedHeaderNames
{
    /// <summary>The <c>type:</c> value.</summary>
    public const string TypeName = "remote_write";

    /// <summary>Headers the output sets itself (remote-write spec 1.0 §"Protocol"); custom headers may not replace them.</summary>
    public static readonly IReadOnlySet<string> ReservedHeaders = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        RemoteWriteHeaders.ContentTypeName, RemoteWriteHeaders.ContentEncodingName, RemoteWriteHeaders.VersionName, "User-Agent",
    };

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <summary>URL, timeout, auth, headers, TLS, backoff.</summary>
    [ConfigSection("")]
    public HttpOutputSettings Http { get; } = new();

    /// <summary>Most samples in one request; Prometheus's <c>max_samples_per_send</c> default is 2000.</summary>
    [ConfigKey("maxSamplesPerSend", "most samples per request (Prometheus's `max_samples_per_send`)", Min = 1, Max = 1_000_000, Unit = "samples")]
    public int MaxSamplesPerSend { get; set; } = 2000;

    IReadOnlySet<string> IReservedHeaderNames.ReservedHeaderNames => ReservedHeaders;

    /// <inheritdoc />
    protected internal override void ValidateKeys(YamlFieldReader r, YamlMappingNode node, string path) => Http.Validate(r, node, path);
}
