using System.Buffers;
using System.Text;
using Flotel.Agent.Podman;

namespace Flotel.Agent.Tests.Podman;

public sealed class HttpChunkedDecoderTests
{
    // As Go's net/http writes a flushed chunk per log line (RFC 9112 §7.1), with lower-case hex sizes.
    private const string Body = "8\r\nline one\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n";

    [Fact]
    public void Decode_ChunksAndLastChunk_DataAndDone()
    {
        var (data, status, decoder) = DecodeAll(Body, split: int.MaxValue);

        Assert.Equal("line oneabcdefghijklmnopqrstuvwxyz", data);
        Assert.Equal(OperationStatus.Done, status);
        Assert.True(decoder.IsDone);
        Assert.False(decoder.IsMidBody);
    }

    [Fact]
    public void Decode_EverySplitOfTheInput_SameData()
    {
        for (int split = 1; split <= Body.Length; split++)
        {
            var (data, status, _) = DecodeAll(Body, split);
            Assert.Equal("line oneabcdefghijklmnopqrstuvwxyz", data);
            Assert.Equal(OperationStatus.Done, status);
        }
    }

    [Fact]
    public void Decode_InPlace_OutputAtTheStartOfTheSameBuffer()
    {
        var buffer = Encoding.ASCII.GetBytes("5\r\nhello\r\n6\r\n world\r\n");
        var decoder = new HttpChunkedDecoder();

        var status = decoder.Decode(buffer, buffer, out int consumed, out int written);

        Assert.Equal(OperationStatus.NeedMoreData, status);
        Assert.Equal(buffer.Length, consumed);
        Assert.Equal("hello world", Encoding.ASCII.GetString(buffer, 0, written));
        Assert.True(decoder.IsMidBody);
    }

    [Fact]
    public void Decode_ExtensionsTrailersUpperCaseAndBareLf_Skipped()
    {
        var (data, status, _) = DecodeAll("A;name=value;x\r\n0123456789\r\n3 ; ext\nabc\n0;last\r\nExpires: never\r\nX-Other: 1\n\r\n", split: 3);

        Assert.Equal("0123456789abc", data);
        Assert.Equal(OperationStatus.Done, status);
    }

    [Fact]
    public void Decode_BytesAfterTheBody_NotConsumed()
    {
        var input = Encoding.ASCII.GetBytes("2\r\nok\r\n0\r\n\r\nGARBAGE");
        var output = new byte[input.Length];
        var decoder = new HttpChunkedDecoder();

        var status = decoder.Decode(input, output, out int consumed, out int written);

        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal(input.Length - "GARBAGE".Length, consumed);
        Assert.Equal("ok", Encoding.ASCII.GetString(output, 0, written));
    }

    [Fact]
    public void Decode_SmallDestination_DestinationTooSmallThenTheRest()
    {
        var input = Encoding.ASCII.GetBytes("a\r\n0123456789\r\n");
        var decoder = new HttpChunkedDecoder();
        var output = new byte[4];

        var status = decoder.Decode(input, output, out int consumed, out int written);
        Assert.Equal(OperationStatus.DestinationTooSmall, status);
        Assert.Equal("0123", Encoding.ASCII.GetString(output, 0, written));

        var rest = new byte[16];
        status = decoder.Decode(input.AsSpan(consumed), rest, out _, out written);
        Assert.Equal(OperationStatus.NeedMoreData, status);
        Assert.Equal("456789", Encoding.ASCII.GetString(rest, 0, written));
    }

    [Theory]
    [InlineData("zz\r\n", "chunk size expected")]
    [InlineData("\r\n", "chunk size expected")]
    [InlineData("5x\r\nhello\r\n", "invalid byte 0x78 in chunk size")]
    [InlineData("5\rXhello\r\n", "not ended by CRLF")]
    [InlineData("5\r\nhello!!\r\n", "chunk longer than its size")]
    [InlineData("5\r\nhello\rX", "chunk longer than its size")]
    [InlineData("1000000000000000\r\n", "chunk size too large")]
    [InlineData("0\r\n\rX", "not ended by CRLF")]
    public void Decode_MalformedInput_InvalidDataWithTheReason(string input, string reason)
    {
        var (_, status, decoder) = DecodeAll(input, split: 1);

        Assert.Equal(OperationStatus.InvalidData, status);
        Assert.Contains(reason, decoder.Error, StringComparison.Ordinal);

        // It stays refused.
        Assert.Equal(OperationStatus.InvalidData, decoder.Decode("0\r\n\r\n"u8, new byte[8], out _, out _));
    }

    [Fact]
    public void Decode_EndlessExtensionOrTrailer_RefusedAtTheLimit()
    {
        var (_, status, decoder) = DecodeAll("5;" + new string('x', HttpChunkedDecoder.MaxLineBytes), split: 100);
        Assert.Equal(OperationStatus.InvalidData, status);
        Assert.Contains("chunk extension too long", decoder.Error, StringComparison.Ordinal);

        (_, status, decoder) = DecodeAll("0\r\n" + new string('x', HttpChunkedDecoder.MaxTrailerBytes + 1), split: 1000);
        Assert.Equal(OperationStatus.InvalidData, status);
        Assert.Contains("trailer section too long", decoder.Error, StringComparison.Ordinal);
    }

    /// <summary>Feeds <paramref name="input"/> in pieces of <paramref name="split"/> bytes, each decoded in place.</summary>
    private static (string Data, OperationStatus Status, HttpChunkedDecoder Decoder) DecodeAll(string input, int split)
    {
        var bytes = Encoding.ASCII.GetBytes(input);
        var decoder = new HttpChunkedDecoder();
        var data = new StringBuilder();
        var status = OperationStatus.NeedMoreData;
        for (int offset = 0; offset < bytes.Length && status == OperationStatus.NeedMoreData; offset += split)
        {
            var piece = bytes.AsSpan(offset, Math.Min(split, bytes.Length - offset)).ToArray();
            status = decoder.Decode(piece, piece, out int consumed, out int written);
            Assert.True(written <= consumed);
            data.Append(Encoding.ASCII.GetString(piece, 0, written));
        }

        return (data.ToString(), status, decoder);
    }
}
