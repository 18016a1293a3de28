using System.Globalization;
using System.Text.RegularExpressions;
using Flotel.Model.Manifests;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Flotel.Wire.Manifests;

/// <summary>Accumulates objects and diagnostics over the files of a manifest directory.</summary>
internal sealed partial class ManifestSetBuilder
{
    /// <summary>
    /// Bound on the per-document field-line map: YAML aliases can make a small file describe a huge tree
    /// ("billion laughs"); past this many nodes lines are no longer recorded (diagnostics fall back to a parent's line).
    /// </summary>
    private const int MaxRecordedNodes = 100_000;

    private readonly List<EdgeDevice> _devices = [];
    private readonly List<EdgeWorkload> _workloads = [];
    private readonly List<ConfigMap> _configMaps = [];
    private readonly List<Secret> _secrets = [];
    private readonly List<ManifestDiagnostic> _diagnostics = [];
    private readonly Dictionary<(string Kind, string Namespace, string Name), ManifestSource> _seen = [];

    public void AddFile(string text, string file)
    {
        var stream = new YamlStream();
        try
        {
            if (FindNonScalarKey(text) is { } keyMark)
            {
                _diagnostics.Add(new ManifestDiagnostic(DiagnosticSeverity.Error, file, checked((int)keyMark.Line), string.Empty,
                    "mapping keys must be plain strings (no lists, mappings or aliases as keys); the whole file is skipped"));
                return;
            }

            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            _diagnostics.Add(new ManifestDiagnostic(DiagnosticSeverity.Error, file, checked((int)e.Start.Line), string.Empty, "YAML syntax error (the whole file is skipped): " + StripMark(e.Message)));
            return;
        }
        catch (Exception e)
        {
            // The representation model can fail in other ways on hostile input; the file is reported, never a crash.
            _diagnostics.Add(new ManifestDiagnostic(DiagnosticSeverity.Error, file, 0, string.Empty, "cannot parse YAML: " + e.Message));
            return;
        }

        foreach (var document in stream.Documents)
        {
            AddDocument(document.RootNode, file);
        }
    }

    private void AddDocument(YamlNode root, string file)
    {
        var reader = new YamlFieldReader(file, _diagnostics);
        if (YamlFieldReader.IsNull(root))
        {
            return;
        }

        if (root is not YamlMappingNode mapping)
        {
            reader.Error(root, string.Empty, "expected a Kubernetes object (a mapping with `apiVersion` and `kind`), got " + YamlFieldReader.Describe(root));
            return;
        }

        var kindNode = YamlFieldReader.Get(mapping, "kind");
        var kind = reader.String(kindNode, "kind");
        if (string.IsNullOrEmpty(kind))
        {
            reader.Error(kindNode ?? mapping, "kind", "`kind` is required");
            return;
        }

        string expectedApi;
        switch (kind)
        {
            case EdgeDevice.KindName or EdgeWorkload.KindName:
                expectedApi = ManifestDocumentReader.FlottaApiVersion;
                break;
            case ConfigMap.KindName or Secret.KindName:
                expectedApi = ManifestDocumentReader.CoreApiVersion;
                break;
            default:
                reader.Warning(kindNode, "kind", $"kind {kind} is not used by Flotta devices; document skipped");
                return;
        }

        var apiNode = YamlFieldReader.Get(mapping, "apiVersion");
        var api = reader.String(apiNode, "apiVersion");
        if (!string.Equals(api, expectedApi, StringComparison.Ordinal))
        {
            reader.Error(apiNode ?? mapping, "apiVersion", api is null
                ? $"`apiVersion` is required ({expectedApi} for {kind})"
                : $"`apiVersion` must be {expectedApi} for {kind}, got \"{api}\"");
        }

        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var budget = MaxRecordedNodes;
        RecordLines(mapping, string.Empty, lines, ref budget);
        var source = new ManifestSource(file, YamlFieldReader.LineOf(mapping), lines);

        var documentReader = new ManifestDocumentReader(reader);
        if (documentReader.ReadMetadata(mapping) is not { } metadata)
        {
            return;
        }

        var key = (kind, metadata.Namespace, metadata.Name);
        if (_seen.TryGetValue(key, out var first))
        {
            reader.Error(YamlFieldReader.Get(mapping, "metadata"), "metadata.name", string.Create(
                CultureInfo.InvariantCulture,
                $"duplicate {kind} {metadata.Namespace}/{metadata.Name} (first defined at {first.File}:{first.Line}); this one is ignored"));
            return;
        }

        _seen.Add(key, source);
        var errorsBefore = ErrorCount();
        switch (kind)
        {
            case EdgeDevice.KindName:
                var device = documentReader.ReadEdgeDevice(mapping, metadata, source);
                _devices.Add(ErrorCount() > errorsBefore ? device with { Source = source.WithLoadErrors() } : device);
                break;
            case EdgeWorkload.KindName:
                var workload = documentReader.ReadEdgeWorkload(mapping, metadata, source);
                _workloads.Add(ErrorCount() > errorsBefore ? workload with { Source = source.WithLoadErrors() } : workload);
                break;
            case ConfigMap.KindName:
                var configMap = documentReader.ReadConfigMap(mapping, metadata, source);
                _configMaps.Add(ErrorCount() > errorsBefore ? configMap with { Source = source.WithLoadErrors() } : configMap);
                break;
            default:
                var secret = documentReader.ReadSecret(mapping, metadata, source);
                _secrets.Add(ErrorCount() > errorsBefore ? secret with { Source = source.WithLoadErrors() } : secret);
                break;
        }
    }

    private int ErrorCount() => _diagnostics.Count(d => d.IsError);

    private static void RecordLines(YamlNode node, string path, Dictionary<string, int> lines, ref int budget)
    {
        if (--budget < 0)
        {
            return;
        }

        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is YamlScalarNode { Value: { } name })
                    {
                        var childPath = YamlFieldReader.Join(path, name);
                        lines.TryAdd(childPath, YamlFieldReader.LineOf(key));
                        RecordLines(value, childPath, lines, ref budget);
                    }
                }

                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    var childPath = string.Create(CultureInfo.InvariantCulture, $"{path}[{i}]");
                    lines.TryAdd(childPath, YamlFieldReader.LineOf(sequence.Children[i]));
                    RecordLines(sequence.Children[i], childPath, lines, ref budget);
                }

                break;
        }
    }

    /// <summary>
    /// Where a mapping key is a list, a mapping or an alias, or null. Kubernetes objects only have string keys,
    /// and YamlDotNet's representation model hashes keys structurally, which is exponential on nested aliases
    /// ("billion laughs"); so such keys are refused on the event stream, before the model is built.
    /// </summary>
    private static Mark? FindNonScalarKey(string text)
    {
        const int InSequence = 0, ExpectKey = 1, ExpectValue = 2;
        var stack = new Stack<int>();
        var parser = new Parser(new StringReader(text));
        while (parser.MoveNext())
        {
            var current = parser.Current!;
            var isKey = stack.Count > 0 && stack.Peek() == ExpectKey;
            switch (current)
            {
                case MappingStart or SequenceStart or AnchorAlias when isKey:
                    return current.Start;
                case MappingStart:
                    stack.Push(ExpectKey);
                    break;
                case SequenceStart:
                    stack.Push(InSequence);
                    break;
                case MappingEnd or SequenceEnd:
                    stack.Pop();
                    NodeDone(stack);
                    break;
                case Scalar or AnchorAlias:
                    NodeDone(stack);
                    break;
            }
        }

        return null;

        static void NodeDone(Stack<int> stack)
        {
            if (stack.Count > 0 && stack.Peek() != InSequence)
            {
                stack.Push(stack.Pop() == ExpectKey ? ExpectValue : ExpectKey);
            }
        }
    }

    public ManifestSet Build() => new()
    {
        Devices = [.. _devices],
        Workloads = [.. _workloads],
        ConfigMaps = [.. _configMaps],
        Secrets = [.. _secrets],
        Diagnostics = [.. _diagnostics],
    };

    /// <summary>YamlException messages start with "(Line: l, Col: c, Idx: i) - (Line: …): "; the line is reported separately.</summary>
    private static string StripMark(string message) => MarkPrefix().Replace(message, string.Empty);

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex MarkPrefix();
}
