namespace Flotel.Pipeline.Tests.Queue;

/// <summary>Shared "free space" for <see cref="DiskFullStream"/>s: writes beyond it fail like ENOSPC.</summary>
internal sealed class DiskSpace
{
    public long Remaining { get; set; } = long.MaxValue;
}

/// <summary>
/// Wraps a segment's FileStream and behaves like a filling disk: a write larger than the remaining space writes what
/// fits, then throws IOException("No space left on device") — a partial write, as write(2) does before ENOSPC.
/// </summary>
internal sealed class DiskFullStream(FileStream inner, DiskSpace space) : Stream
{
    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => inner.CanSeek;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override void Flush() => inner.Flush(flushToDisk: true);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void SetLength(long value) => inner.SetLength(value);

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length > space.Remaining)
        {
            var fits = (int)space.Remaining;
            inner.Write(buffer[..fits]);
            space.Remaining = 0;
            throw new IOException("No space left on device");
        }

        inner.Write(buffer);
        space.Remaining -= buffer.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
