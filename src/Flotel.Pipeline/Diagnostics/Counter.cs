namespace Flotel.Pipeline.Diagnostics;

/// <summary>A monotonically increasing count; one atomic add per increment.</summary>
public sealed class Counter
{
    private long _value;

    /// <summary>The current count.</summary>
    public long Value => Interlocked.Read(ref _value);

    /// <summary>Adds one.</summary>
    public void Increment() => Interlocked.Increment(ref _value);

    /// <summary>Adds <paramref name="n"/> (≥ 0).</summary>
    public void Add(long n) => Interlocked.Add(ref _value, n);
}
