namespace Flotel.RemoteWriteLoad;

/// <summary>
/// The <c>--values decimal</c> kinds, one per series (<c>id mod 4</c>), each value a function of (id, k) so bodies are
/// built in any order: a byte counter with uneven integer increments, a seconds counter with three decimals and uneven
/// increments, a temperature-like gauge with two decimals drifting on a slow wave plus noise, and a ratio in [0, 1)
/// with four decimals. Counters stay monotonic: value(k) = k·a + j(k) with 0 ≤ j &lt; 0.9·a, so each increment is in
/// (0.1·a, 1.9·a). The noise is a hash of (id, k), not a random generator, so the same options give the same bodies.
/// </summary>
internal static class DecimalSeries
{
    public static double ValueOf(int id, long k) => (id % 4) switch
    {
        0 => Math.Round((k * 4096d) + (Jitter(id, k) * 0.9 * 4096)),
        1 => Math.Round((k * 0.25) + (Jitter(id, k) * 0.9 * 0.25), 3),
        2 => Math.Round(45 + (8 * Math.Sin((k / 240.0) + id)) + (Jitter(id, k) * 0.5), 2),
        _ => Math.Round(Jitter(id, k), 4),
    };

    /// <summary>A value in [0, 1) from (id, k) (SplitMix64's finaliser).</summary>
    private static double Jitter(int id, long k)
    {
        var z = unchecked(((ulong)id << 40) ^ (ulong)k ^ 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
