namespace Flotel.Store.Metrics;

/// <summary>
/// UTF-8 texts kept back to back in 64 KiB byte pages, addressed by their offset and length: the label values of the
/// metric store's pairs (<see cref="LabelPairs"/>) without a .NET string per value (a 6-character value is 40 bytes as a
/// string, 6 here). A text never crosses a page end (the rest of a page too short for it is a hole), so a text is at most
/// <see cref="PageBytes"/> long; removed texts leave holes, which the owner drops by copying the live texts into a new
/// arena (<see cref="WorthRebuilding"/>). Not thread-safe: the store's lock guards its owner.
/// <code>
/// offset = page × PageBytes + position in the page (an int: the arena holds less than 2 GiB)
/// </code>
/// </summary>
internal sealed class Utf8Arena
{
    /// <summary>Bytes per page (a small object: below the runtime's 85,000-byte large object size).</summary>
    internal const int PageBytes = 1 << PageShift;

    private const int PageShift = 16;

    private readonly List<byte[]> _pages = [];

    /// <summary>Bytes written (live texts and holes).</summary>
    public long Used { get; private set; }

    /// <summary>Bytes of removed texts and page ends left unused.</summary>
    public long Holes { get; private set; }

    /// <summary>Bytes of the pages held.</summary>
    public long Length => (long)_pages.Count * PageBytes;

    /// <summary>Copies <paramref name="text"/> (at most <see cref="PageBytes"/> bytes) to the end of the arena and returns its offset.</summary>
    /// <exception cref="InvalidOperationException">The arena would pass 2 GiB.</exception>
    public int Add(ReadOnlySpan<byte> text)
    {
        var inPage = (int)(Used & (PageBytes - 1));
        if (inPage + text.Length > PageBytes)
        {
            Holes += PageBytes - inPage;
            Used += PageBytes - inPage;
        }

        if (Used + text.Length > Length)
        {
            if (Length + PageBytes > int.MaxValue)
            {
                throw new InvalidOperationException("label values take more than 2 GiB");
            }

            _pages.Add(new byte[PageBytes]);
        }

        var offset = (int)Used;
        text.CopyTo(_pages[offset >> PageShift].AsSpan(offset & (PageBytes - 1)));
        Used += text.Length;
        return offset;
    }

    /// <summary>The text at <paramref name="offset"/>, <paramref name="length"/> bytes long; valid until the arena is dropped.</summary>
    public ReadOnlySpan<byte> Get(int offset, int length) =>
        length == 0 ? [] : _pages[offset >> PageShift].AsSpan(offset & (PageBytes - 1), length);

    /// <summary>Counts a text of <paramref name="length"/> bytes as removed (its bytes stay until the arena is rebuilt).</summary>
    public void Remove(int length) => Holes += length;

    /// <summary>
    /// Whether adding <paramref name="length"/> bytes needs a new page while holes are more than half the live bytes: then
    /// the owner copies the live texts into a new arena instead (at most about twice the live bytes are ever held).
    /// </summary>
    public bool WorthRebuilding(int length) => Used + length > Length && Holes > (Used - Holes) / 2;
}
