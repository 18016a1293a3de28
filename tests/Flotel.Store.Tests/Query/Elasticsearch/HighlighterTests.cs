using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotel.Store.Query.Elasticsearch;

namespace Flotel.Store.Tests.Query.Elasticsearch;

public sealed class HighlighterTests
{
    private static JsonNode? Highlight(string highlight, string query, string source)
    {
        using JsonDocument spec = JsonDocument.Parse(highlight);
        using JsonDocument q = JsonDocument.Parse(query);
        using JsonDocument doc = JsonDocument.Parse(source);
        Highlighter highlighter = Highlighter.Parse(spec.RootElement);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            highlighter.Write(writer, doc.RootElement, QueryDslParser.ParseQuery(q.RootElement));
            writer.WriteEndObject();
        }

        return JsonNode.Parse(buffer.WrittenSpan)!["highlight"];
    }

    [Fact]
    public void Write_LongValue_FragmentsInTextOrderOnWordBoundaries()
    {
        string message = "alpha beta gamma error delta epsilon zeta eta theta iota kappa lambda error mu nu xi omicron pi rho";

        JsonNode? highlight = Highlight("""{"fields":{"message":{"fragment_size":20,"number_of_fragments":5}}}""",
            """{"match":{"message":"ERROR"}}""", JsonSerializer.Serialize(new { message }));

        string[] fragments = [.. highlight!["message"]!.AsArray().Select(f => (string)f!)];
        Assert.Equal(2, fragments.Length);
        int[] starts = new int[2];
        for (int i = 0; i < 2; i++)
        {
            Assert.Contains("<em>error</em>", fragments[i], StringComparison.Ordinal);
            string plain = fragments[i].Replace("<em>", "", StringComparison.Ordinal).Replace("</em>", "", StringComparison.Ordinal);
            starts[i] = message.IndexOf(plain, StringComparison.Ordinal);
            Assert.True(starts[i] >= 0, plain);
            int end = starts[i] + plain.Length;
            // Cut on word boundaries: no word is split at either end.
            Assert.True(starts[i] == 0 || message[starts[i] - 1] == ' ', plain);
            Assert.True(end == message.Length || message[end] == ' ', plain);
        }

        Assert.True(starts[0] < starts[1]);
    }

    [Fact]
    public void Write_ArraysAndNestedObjects_HighlightedByDottedName()
    {
        JsonNode? highlight = Highlight("""{"fields":{"tags":{},"kubernetes.*":{}}}""",
            """{"bool":{"should":[{"term":{"tags":"red"}},{"match":{"kubernetes.pod":"web"}}]}}""",
            """{"tags":["blue","red"],"kubernetes":{"pod":"web-1"}}""");

        Assert.Equal(["<em>red</em>"], highlight!["tags"]!.AsArray().Select(f => (string?)f));
        Assert.Equal(["<em>web</em>-1"], highlight["kubernetes.pod"]!.AsArray().Select(f => (string?)f));
    }

    [Fact]
    public void Write_PrefixAndMustNot_PrefixMarkedNegatedNot()
    {
        JsonNode? highlight = Highlight("""{"fields":{"*":{}}}""",
            """{"bool":{"must":[{"prefix":{"message":"conn"}}],"must_not":[{"match":{"message":"refused"}}]}}""",
            """{"message":"connection reset, reconnecting; refused"}""");

        Assert.Equal(["<em>connection</em> reset, reconnecting; refused"], highlight!["message"]!.AsArray().Select(f => (string?)f));
    }

    [Fact]
    public void Write_HundredThousandMatches_AnswersWithTheFragmentsAsked()
    {
        var message = new StringBuilder();
        for (int i = 0; i < 100_000; i++)
        {
            message.Append("err ");
        }

        JsonNode? highlight = Highlight("""{"fields":{"message":{"fragment_size":10,"number_of_fragments":2147483647}}}""",
            """{"match":{"message":"err"}}""", JsonSerializer.Serialize(new { message = message.ToString() }));

        JsonArray fragments = highlight!["message"]!.AsArray();
        Assert.InRange(fragments.Count, 100_000 / 3, 100_000);
        Assert.Equal(100_000, fragments.Sum(f => ((string)f!).Split("<em>err</em>").Length - 1));
    }

    [Theory]
    [InlineData("""{"fields":{"m":{"fragment_size":-1}}}""")]
    [InlineData("""{"fields":{"m":{"pre_tags":[]}}}""")]
    [InlineData("""{"fields":{"m":{}},"bogus":1}""")]
    [InlineData("""{"pre_tags":["<b>"]}""")]
    [InlineData("""{"fields":{"m":{}},"encoder":"base64"}""")]
    public void Parse_BadOptions_ElasticsearchError(string highlight)
    {
        using JsonDocument spec = JsonDocument.Parse(highlight);

        ElasticsearchException e = Assert.Throws<ElasticsearchException>(() => Highlighter.Parse(spec.RootElement));
        Assert.Equal(400, e.Status);
    }
}
