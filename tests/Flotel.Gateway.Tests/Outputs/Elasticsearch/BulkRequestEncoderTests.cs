using System.IO.Compression;
using System.Text;
using Flotel.Gateway.Outputs.Elasticsearch;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Gateway.Tests.Outputs.Elasticsearch;

public sealed class BulkRequestEncoderTests
{
    private static readonly LogDocument[] Batch =
    [
        new("logstash-2022.05.12", null, Encoding.UTF8.GetBytes("""{"@timestamp":"2022-05-12T20:22:01.000Z","message":"a \"quoted\" <b>"}""")),
        new("logstash-2022.05.13", "z07vuYAB7aBvPfPHfBaK", Encoding.UTF8.GetBytes("""{"message":"second"}"""), CreateOnly: true),
    ];

    [Fact]
    public void Encode_Batch_IsNdjsonWithIndexActionsNoTypeAndATrailingNewline()
    {
        var body = Encoding.UTF8.GetString(BulkRequestEncoder.Encode(Batch, gzip: false));

        const string expected =
            """{"index":{"_index":"logstash-2022.05.12"}}""" + "\n"
            + """{"@timestamp":"2022-05-12T20:22:01.000Z","message":"a \"quoted\" <b>"}""" + "\n"
            + """{"create":{"_index":"logstash-2022.05.13","_id":"z07vuYAB7aBvPfPHfBaK"}}""" + "\n"
            + """{"message":"second"}""" + "\n";
        Assert.Equal(expected, body);
    }

    [Fact]
    public void Encode_SourceWithRawLineBreaks_KeepsOneLinePerSource()
    {
        LogDocument[] batch = [new("i", null, Encoding.UTF8.GetBytes("{\n\"a\":\r\n1}"))];

        var body = Encoding.UTF8.GetString(BulkRequestEncoder.Encode(batch, gzip: false));

        Assert.Equal("{\"index\":{\"_index\":\"i\"}}\n{ \"a\":  1}\n", body);
    }

    [Fact]
    public void Encode_Gzip_DecompressesToTheSameNdjson()
    {
        var plain = BulkRequestEncoder.Encode(Batch, gzip: false);
        var compressed = BulkRequestEncoder.Encode(Batch, gzip: true);

        using var gzip = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var decoded = new MemoryStream();
        gzip.CopyTo(decoded);
        Assert.Equal(plain, decoded.ToArray());
        Assert.Equal([0x1f, 0x8b], compressed[..2]); // RFC 1952 magic
    }
}
