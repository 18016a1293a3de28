using Flotel.Wire.Manifests;

namespace Flotel.Wire.Tests.Manifests;

public sealed class ManifestDocumentsTests
{
    [Fact]
    public void Split_MultiDocumentFile_GivesEachDocumentsTextLineKindAndName()
    {
        const string text = "# leading comment\nkind: ConfigMap\nmetadata:\n  name: a # keep\n---\n---\nkind: Secret\nmetadata: {name: b}\n...\n--- \nkind: EdgeDevice\n";
        var documents = ManifestDocuments.Split(text);

        Assert.Equal(3, documents.Count);
        Assert.Equal(new ManifestDocuments.Document("kind: ConfigMap\nmetadata:\n  name: a # keep\n", 2, "ConfigMap", "a"), documents[0]);
        Assert.Equal(6, documents[1].Line); // its own "---" line; the empty document on line 5 is dropped
        Assert.Equal(("Secret", "b"), (documents[1].Kind, documents[1].Name));
        Assert.StartsWith("---\nkind: Secret", documents[1].Text, StringComparison.Ordinal);
        Assert.Equal(("EdgeDevice", (string?)null, 10), (documents[2].Kind, documents[2].Name, documents[2].Line));
    }

    [Fact]
    public void AtLine_LoaderReportsTheOriginalLine()
    {
        var set = ManifestLoader.LoadText(ManifestDocuments.AtLine("kind: ConfigMap\napiVersion: v1\nmetadata: {}\n", 40), "f.yaml");
        Assert.Equal(42, Assert.Single(set.Diagnostics).Line);
    }
}
