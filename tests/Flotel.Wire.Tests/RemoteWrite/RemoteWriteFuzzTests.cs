using CsCheck;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Wire.Tests.RemoteWrite;

/// <summary>
/// Hostile input: random bytes, truncations, bit flips, huge length prefixes. The codec may accept or
/// reject, but only with <see cref="RemoteWriteException"/>, and its allocations stay bounded by the input
/// (a decode to model objects allocates per series, never per declared length).
/// </summary>
public sealed class RemoteWriteFuzzTests
{
    private static readonly RemoteWriteLimits Limits = new() { MaxDecompressedBytes = 1024 * 1024, MaxCompressedBytes = 1024 * 1024 };

    /// <summary>Runs <paramref name="decode"/>, allowing only RemoteWriteException, and checks the allocation bound.</summary>
    private static void Survives(byte[] input, Action<byte[]> decode)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            decode(input);
        }
        catch (RemoteWriteException ex)
        {
            Assert.False(string.IsNullOrEmpty(ex.Message));
            Assert.DoesNotContain('\n', ex.Message);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // Model objects: at most a few hundred bytes per input byte (strings, lists); pooled buffers are rented, not allocated per call.
        var bound = (256L * input.Length) + (64 * 1024);
        Assert.True(allocated <= bound, "allocated " + allocated + " bytes for " + input.Length + " input bytes");
    }

    private static void DecodeProtobuf(byte[] b) => WriteRequestDecoder.Decode(b, Limits);

    private static void DecodeBody(byte[] b) => RemoteWriteCodec.Decode(b, Limits);

    [Fact]
    public void Decode_RandomBytes_OnlyThrowsRemoteWriteException()
    {
        Gen.Byte.Array[0, 512].Sample(bytes =>
        {
            Survives(bytes, DecodeProtobuf);
            Survives(bytes, DecodeBody);
        }, iter: 5000);
    }

    [Fact]
    public void Decode_RandomBytesWithValidSnappyPreamble_OnlyThrowsRemoteWriteException()
    {
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            var body = new byte[bytes.Length + 2];
            body[0] = 0xC0;
            body[1] = 0x02; // 320 declared
            bytes.CopyTo(body, 2);
            Survives(body, DecodeBody);
        }, iter: 5000);
    }

    [Fact]
    public void Decode_EveryPrefixOfValidRequest_OnlyThrowsRemoteWriteException()
    {
        var protobuf = WriteRequestEncoder.Encode(WriteRequestEncoderSnapshotTests.FixedRequest());
        var body = RemoteWriteCodec.Encode(WriteRequestEncoderSnapshotTests.FixedRequest());
        for (var n = 0; n < protobuf.Length; n++)
        {
            Survives(protobuf[..n], DecodeProtobuf);
        }

        for (var n = 0; n < body.Length; n++)
        {
            Survives(body[..n], DecodeBody);
            Assert.Throws<RemoteWriteException>(() => RemoteWriteCodec.Decode(body.AsSpan(0, n), Limits));
        }
    }

    [Fact]
    public void Decode_RandomlyMutatedValidRequest_OnlyThrowsRemoteWriteException()
    {
        Gen.Select(RemoteWriteTestData.Request, Gen.Int, Gen.Int[1, 8]).Sample((request, seed, flips) =>
        {
            var random = new Random(seed);
            var protobuf = WriteRequestEncoder.Encode(request);
            var body = RemoteWriteCodec.Encode(request);
            foreach (var bytes in new[] { protobuf, body })
            {
                if (bytes.Length == 0)
                {
                    continue;
                }

                for (var i = 0; i < flips; i++)
                {
                    bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                }
            }

            Survives(protobuf, DecodeProtobuf);
            Survives(body, DecodeBody);
        }, iter: 2000);
    }

    [Fact]
    public void Decode_HugeLengthPrefixesAtEveryLevel_AreRejectedWithoutAllocating()
    {
        // WriteRequest → TimeSeries → Label → name, each claiming 2^62 or 2^31 bytes.
        foreach (var hex in new[] { "0A80808080808080804000", "0A060A04" + "0A808080800800", "0A0412808080800800", "1A8080808008", "0A03" + "0A01" + "FF" })
        {
            var bytes = Convert.FromHexString(hex);
            Survives(bytes, DecodeProtobuf);
            Assert.Equal(RemoteWriteRejectReason.InvalidProtobuf, Assert.Throws<RemoteWriteException>(() => WriteRequestDecoder.Decode(bytes)).Reason);
        }
    }
}
