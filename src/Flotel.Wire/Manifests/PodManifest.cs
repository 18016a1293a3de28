using YamlDotNet.RepresentationModel;

namespace Flotel.Wire.Manifests;

/// <summary>
/// Wraps an EdgeWorkload's <c>spec.pod.spec</c> into a Kubernetes <c>Pod</c> document, which is what
/// <c>podman play kube</c> reads (Flotta's device worker does the same with the workload name as pod name).
/// </summary>
internal static class PodManifest
{
    public static string ToYaml(string podName, YamlMappingNode podSpec)
    {
        var pod = new YamlMappingNode
        {
            { "apiVersion", "v1" },
            { "kind", "Pod" },
            { "metadata", new YamlMappingNode { { "name", podName } } },
            { "spec", podSpec },
        };
        var stream = new YamlStream(new YamlDocument(pod));
        using var writer = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        // No anchor assignment: it hashes nodes structurally, which is exponential on nested aliases
        // ("billion laughs"). Nodes loaded with an anchor keep it, and a repeat is emitted as an alias.
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();

        // YamlStream ends each document with an explicit "..." marker; one standalone document does not need it.
        const string documentEnd = "...\n";
        text = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        return text.EndsWith(documentEnd, StringComparison.Ordinal) ? text[..^documentEnd.Length] : text;
    }
}
