using System.Numerics;
using System.Runtime.CompilerServices;

namespace Flotel.Store.Metrics;

/// <summary>
/// An array of <typeparamref name="T"/> kept in pages of at most 64 KiB, for the index's tables that grow with the
/// series count (a million series make 4–32 MB tables). One array that doubles would be a large object (85,000 bytes
/// and up): never compacted, and each copy leaves the previous one free in a heap the process keeps; pages are small
/// objects the collector compacts, and growing adds pages without copying the ones held.
/// <code>
/// length ≤ one page   one array of exactly that length (a small table stays small)
/// longer             Length / PageLength pages of PageLength items; item i is pages[i / PageLength][i % PageLength]
/// </code>
/// Not thread-safe: the store's lock guards its users.
/// </summary>
internal sealed class PagedArray<T>
{
    // Initialized in this order (PageLength reads PageShift).
    private static readonly int PageShift = BitOperations.Log2((uint)Math.Max(1, 65536 / Unsafe.SizeOf<T>()));

    /// <summary>Items per page: the largest power of two whose page stays within 64 KiB.</summary>
    internal static readonly int PageLength = 1 << PageShift;

    private T[][] _pages;

    /// <summary>A table of <paramref name="length"/> default items (a power of two, or any length up to one page).</summary>
    public PagedArray(int length)
    {
        _pages = [];
        Grow(length);
    }

    /// <summary>Items held (a power of two times <see cref="PageLength"/> once past one page).</summary>
    public int Length { get; private set; }

    /// <summary>Item <paramref name="index"/> (0 ≤ index &lt; <see cref="Length"/>).</summary>
    public ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _pages[index >> PageShift][index & (PageLength - 1)];
    }

    /// <summary>
    /// Makes room for at least <paramref name="length"/> items, keeping the ones held: a single short page is copied into
    /// one twice as long (at most a page), past that whole pages are added.
    /// </summary>
    public void Grow(int length)
    {
        if (length <= Length)
        {
            return;
        }

        if (length <= PageLength)
        {
            var page = new T[Math.Min(PageLength, Math.Max(length, Length * 2))];
            if (_pages.Length > 0)
            {
                _pages[0].CopyTo(page, 0);
            }

            _pages = [page];
            Length = page.Length;
            return;
        }

        if (Length < PageLength)
        {
            Grow(PageLength);
        }

        var pages = (length + PageLength - 1) >> PageShift;
        var grown = new T[pages][];
        _pages.CopyTo(grown, 0);
        for (var p = _pages.Length; p < pages; p++)
        {
            grown[p] = new T[PageLength];
        }

        _pages = grown;
        Length = pages << PageShift;
    }
}
