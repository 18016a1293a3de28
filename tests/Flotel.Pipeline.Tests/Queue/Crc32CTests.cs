using System.Buffers.Binary;
using System.Text;
using Flotel.Pipeline.Queue;

namespace Flotel.Pipeline.Tests.Queue;

public sealed class Crc32CTests
{
    [Fact]
    public void Compute_CheckString_IsCastagnoliCheckValue()
    {
        // The catalogue check value of CRC-32/ISCSI (CRC-32C) for the ASCII string "123456789".
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
    }

    [Theory]
    [InlineData((byte)0x00, 0x8A9136AAu)]
    [InlineData((byte)0xFF, 0x62A8AB43u)]
    public void Compute_ThirtyTwoEqualBytes_MatchesRfc3720Appendix(byte value, uint expected)
    {
        // RFC 3720 (iSCSI) appendix B.4 "CRC Examples": 32 bytes of zeros / of ones.
        var data = Enumerable.Repeat(value, 32).ToArray();
        Assert.Equal(expected, Crc32C.Compute(data));
    }

    [Fact]
    public void Compute_IncreasingBytes_MatchesRfc3720Appendix()
    {
        // RFC 3720 appendix B.4: 32 bytes counting up 0x00..0x1F.
        var data = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(data));
    }

    [Fact]
    public void OfRecord_AnySequence_EqualsCrcOfLittleEndianSequenceThenPayload()
    {
        var payload = Encoding.ASCII.GetBytes("<14>1 2022-05-12T20:22:01Z edge-device-1 app - - - hello");
        var bytes = new byte[8 + payload.Length];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, 0x0102030405060708);
        payload.CopyTo(bytes, 8);
        Assert.Equal(Crc32C.Compute(bytes), Crc32C.OfRecord(0x0102030405060708, payload));
    }
}
