using Flotel.Wire.RemoteWrite;

namespace Flotel.Wire.Tests.RemoteWrite;

public sealed class RemoteWriteCodecTests
{
    private static RemoteWriteException Rejects(byte[] body, RemoteWriteLimits? limits = null) =>
        Assert.Throws<RemoteWriteException>(() => RemoteWriteCodec.Decode(body, limits));

    [Fact]
    public void Decode_EncodedNodeExporterLikeRequest_RoundTrips()
    {
        var request = RemoteWriteTestData.NodeExporterLike(543, 1, 1_700_000_000_000);
        var decoded = RemoteWriteCodec.Decode(RemoteWriteCodec.Encode(request));
        RemoteWriteTestData.AssertSame(request, decoded);
    }

    [Fact]
    public void Decode_BodyOverCompressedLimit_IsRejectedWith413()
    {
        var body = RemoteWriteCodec.Encode(RemoteWriteTestData.NodeExporterLike(10, 1, 1));
        var ex = Rejects(body, new RemoteWriteLimits { MaxCompressedBytes = body.Length - 1 });
        Assert.Equal(RemoteWriteRejectReason.CompressedTooLarge, ex.Reason);
        Assert.Equal(413, ex.HttpStatusCode);
        Assert.Single(RemoteWriteCodec.Decode(body, new RemoteWriteLimits { MaxCompressedBytes = body.Length }).Series.Take(1));
    }

    [Fact]
    public void Decode_DeclaredLengthOverLimit_IsRejectedWith413()
    {
        var body = RemoteWriteCodec.Encode(RemoteWriteTestData.NodeExporterLike(10, 1, 1));
        var declared = RemoteWriteCodec.GetDecompressedLength(body);
        var ex = Rejects(body, new RemoteWriteLimits { MaxDecompressedBytes = declared - 1 });
        Assert.Equal(RemoteWriteRejectReason.DecompressedTooLarge, ex.Reason);
        Assert.Equal(413, ex.HttpStatusCode);
    }

    [Theory]
    [InlineData("FFFFFFFF0F00", RemoteWriteRejectReason.DecompressedTooLarge)] // 4 GiB - 1 declared
    [InlineData("8080808001", RemoteWriteRejectReason.DecompressedTooLarge)]   // 256 MiB declared, nothing after
    [InlineData("80808008", RemoteWriteRejectReason.DecompressedTooLarge)]     // 16 MiB declared, tiny body
    [InlineData("808020", RemoteWriteRejectReason.InvalidSnappy)]              // 512 KiB declared from 0 payload bytes
    [InlineData("FFFFFFFFFF01", RemoteWriteRejectReason.InvalidSnappy)]        // 6-byte preamble
    [InlineData("FFFFFFFF1F", RemoteWriteRejectReason.InvalidSnappy)]          // > 2^32-1
    [InlineData("", RemoteWriteRejectReason.InvalidSnappy)]                    // no preamble
    [InlineData("80", RemoteWriteRejectReason.InvalidSnappy)]                  // unterminated preamble
    public void Decode_SnappyBomb_IsRejectedBeforeAllocating(string hex, RemoteWriteRejectReason reason)
    {
        var body = Convert.FromHexString(hex);
        var limits = new RemoteWriteLimits { MaxDecompressedBytes = 8 * 1024 * 1024 };
        _ = Assert.Throws<RemoteWriteException>(() => RemoteWriteCodec.Decode(body, limits)); // warm-up
        var before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<RemoteWriteException>(() => RemoteWriteCodec.Decode(body, limits));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(reason, ex.Reason);
        Assert.True(allocated < 16 * 1024, "allocated " + allocated + " bytes");
    }

    [Fact]
    public void Decode_DeclaredLengthLargerThanData_IsRejectedAsInvalidSnappy()
    {
        // Preamble says 40 bytes, one 4-byte literal follows (40 ≤ 5 * 64/3, so it passes the bound check).
        var ex = Rejects(Convert.FromHexString("280C61626364"));
        Assert.Equal(RemoteWriteRejectReason.InvalidSnappy, ex.Reason);
        Assert.Equal(400, ex.HttpStatusCode);
    }

    [Fact]
    public void Decode_CopyBeforeStartOfOutput_IsRejectedAsInvalidSnappy()
    {
        // 8 bytes declared; a copy-2 of length 8 at offset 1 with no prior output.
        Assert.Equal(RemoteWriteRejectReason.InvalidSnappy, Rejects(Convert.FromHexString("081E0100")).Reason);
    }

    [Fact]
    public void Decode_ValidSnappyOfGarbageProtobuf_IsRejectedAsInvalidProtobuf()
    {
        Assert.Equal(RemoteWriteRejectReason.InvalidProtobuf, Rejects(Snappier.Snappy.CompressToArray("not protobuf"u8)).Reason);
    }

    [Theory]
    [InlineData("application/x-protobuf", "snappy")]
    [InlineData("Application/X-Protobuf", "SNAPPY")]
    [InlineData("application/x-protobuf;proto=prometheus.WriteRequest", "snappy")]
    [InlineData(null, "snappy")]
    public void ValidateHeaders_RemoteWrite10_Accepts(string? contentType, string contentEncoding)
    {
        RemoteWriteHeaders.Validate(contentType, contentEncoding);
    }

    [Theory]
    [InlineData("application/json", "snappy", RemoteWriteRejectReason.UnsupportedContentType)]
    [InlineData("image/png", "snappy", RemoteWriteRejectReason.UnsupportedContentType)]
    [InlineData("application/x-protobuf;proto=io.prometheus.write.v2.Request", "snappy", RemoteWriteRejectReason.UnsupportedContentType)]
    [InlineData("application/x-protobuf", "gzip", RemoteWriteRejectReason.UnsupportedContentEncoding)]
    [InlineData("application/x-protobuf", "deflate", RemoteWriteRejectReason.UnsupportedContentEncoding)]
    [InlineData("application/x-protobuf", null, RemoteWriteRejectReason.UnsupportedContentEncoding)]
    public void ValidateHeaders_Other_IsRejectedWith415(string? contentType, string? contentEncoding, RemoteWriteRejectReason reason)
    {
        var ex = Assert.Throws<RemoteWriteException>(() => RemoteWriteHeaders.Validate(contentType, contentEncoding));
        Assert.Equal(reason, ex.Reason);
        Assert.Equal(415, ex.HttpStatusCode);
    }

    [Fact]
    public void Headers_AreTheRemoteWrite10Values()
    {
        Assert.Equal("snappy", RemoteWriteHeaders.ContentEncoding);
        Assert.Equal("application/x-protobuf", RemoteWriteHeaders.ContentType);
        Assert.Equal("0.1.0", RemoteWriteHeaders.Version);
        Assert.Equal("X-Prometheus-Remote-Write-Version", RemoteWriteHeaders.VersionName);
    }
}
