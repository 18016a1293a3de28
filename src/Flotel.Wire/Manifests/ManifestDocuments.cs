using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Flotel.Wire.Manifests;

/// <summary>
/// Cuts a multi-document YAML text into its documents, each as the exact text the user wrote (comments and layout
/// kept) with the line it starts on, plus the <c>kind</c> and <c>metadata.name</c> it declares. The fleet control plane
/// stores objects one document each (docs/fleet.md §3), so <c>flotel apply</c> sends documents, not files.
/// Call it on text the loader accepted; YAML it cannot parse throws <see cref="YamlException"/>.
/// </summary>
public static class ManifestDocuments
{
    /// <summary>One document of a file.</summary>
    /// <param name="Text">The document's text, from its first token (or its <c>---</c>) to its end.</param>
    /// <param name="Line">1-based line of the file where <paramref name="Text"/> starts.</param>
    /// <param name="Kind">The <c>kind</c> scalar, or null.</param>
    /// <param name="Name">The <c>metadata.name</c> scalar, or null.</param>
    public sealed record Document(string Text, int Line, string? Kind, string? Name);

    /// <summary>The non-empty documents of <paramref name="text"/>, in order.</summary>
    public static IReadOnlyList<Document> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var documents = new List<Document>();
        var parser = new Parser(new StringReader(text));
        Mark? start = null;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case DocumentStart documentStart:
                    start = documentStart.Start;
                    break;
                case DocumentEnd documentEnd when start is { } s:
                    var slice = text[(int)s.Index..(int)documentEnd.End.Index];
                    start = null;
                    var (kind, name, empty) = Describe(slice);
                    if (!empty)
                    {
                        documents.Add(new Document(slice, checked((int)s.Line), kind, name));
                    }

                    break;
            }
        }

        return documents;
    }

    /// <summary>The text with <paramref name="line"/> − 1 newlines in front, so a loader reports the original file's lines.</summary>
    public static string AtLine(string text, int line) => line > 1 ? new string('\n', line - 1) + text : text;

    private static (string? Kind, string? Name, bool Empty) Describe(string document)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(document));
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not { } root || YamlFieldReader.IsNull(root))
        {
            return (null, null, true);
        }

        if (root is not YamlMappingNode mapping)
        {
            return (null, null, false);
        }

        var kind = (YamlFieldReader.Get(mapping, "kind") as YamlScalarNode)?.Value;
        var name = (YamlFieldReader.Get(mapping, "metadata") is YamlMappingNode metadata ? YamlFieldReader.Get(metadata, "name") as YamlScalarNode : null)?.Value;
        return (kind, name, false);
    }
}
