using System.Buffers.Binary;

namespace Flotel.Cli.Up;

/// <summary>
/// Tells a statically linked ELF executable from a dynamically linked one: the image <c>flotel up</c> builds has no
/// libc, so only a static busybox (Debian's <c>busybox-static</c>) runs in it. A dynamic executable has a
/// <c>PT_INTERP</c> program header naming its loader (ELF-64 object file format, "Program header"); a static one has
/// none. Searching the file for "ld-linux" is not enough: busybox-static contains that text too.
/// </summary>
public static class ElfBinary
{
    private const uint PtInterp = 3;

    /// <summary>True when <paramref name="path"/> is a 64-bit little-endian ELF file with a PT_INTERP header.</summary>
    /// <exception cref="InvalidDataException">The file is not a 64-bit little-endian ELF file.</exception>
    public static bool IsDynamicallyLinked(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> header = stackalloc byte[64];
        if (file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length
            || !header[..4].SequenceEqual("\u007fELF"u8) || header[4] != 2 || header[5] != 1)
        {
            throw new InvalidDataException($"{path} is not a 64-bit little-endian ELF executable");
        }

        var programHeaders = BinaryPrimitives.ReadInt64LittleEndian(header[0x20..]);
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[0x36..]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(header[0x38..]);
        Span<byte> entry = stackalloc byte[4];
        for (var i = 0; i < count; i++)
        {
            file.Position = programHeaders + ((long)i * entrySize);
            file.ReadExactly(entry);
            if (BinaryPrimitives.ReadUInt32LittleEndian(entry) == PtInterp)
            {
                return true;
            }
        }

        return false;
    }
}
