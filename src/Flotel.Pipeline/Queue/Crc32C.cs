using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Flotel.Pipeline.Queue;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF; check value of "123456789" is
/// 0xE3069283). System.IO.Hashing 10 has only CRC-32/IEEE and CRC-64 (CRC-32C arrives with its parameterised CRCs in
/// 11), while <see cref="BitOperations.Crc32C(uint, ulong)"/> is in the shared framework and compiles to the SSE4.2
/// <c>crc32</c> / ARMv8 <c>crc32cx</c> instruction, with a table fallback elsewhere — so no package is needed.
/// </summary>
internal static class Crc32C
{
    /// <summary>Starts a running CRC.</summary>
    public const uint Seed = 0xFFFFFFFFu;

    /// <summary>Adds bytes to a running CRC started at <see cref="Seed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }

    /// <summary>Ends a running CRC.</summary>
    public static uint Finish(uint crc) => ~crc;

    /// <summary>CRC-32C of one buffer.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Seed, data));

    /// <summary>The record checksum: CRC-32C over the sequence id (8 bytes, little-endian) then the payload.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static uint OfRecord(long sequence, ReadOnlySpan<byte> payload)
    {
        var crc = BitOperations.Crc32C(Seed, (ulong)sequence);
        return Finish(Append(crc, payload));
    }
}
