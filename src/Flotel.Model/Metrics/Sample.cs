namespace Flotel.Model.Metrics;

/// <summary>One float sample: milliseconds since the Unix epoch and a float64 value (remote write 1.0 units).</summary>
/// <param name="TimestampMs">Milliseconds since 1970-01-01T00:00:00Z.</param>
/// <param name="Value">The value; NaN, ±Inf and the stale marker NaN (0x7ff0000000000002) are legal.</param>
public readonly record struct Sample(long TimestampMs, double Value)
{
    /// <summary>Prometheus's staleness marker, a NaN with a fixed bit pattern (remote-write spec 1.0, "Stale markers").</summary>
    public static readonly double StaleMarker = BitConverter.Int64BitsToDouble(0x7ff0000000000002);

    /// <summary>True when <see cref="Value"/> has the exact bit pattern of <see cref="StaleMarker"/>.</summary>
    public bool IsStaleMarker => BitConverter.DoubleToInt64Bits(Value) == 0x7ff0000000000002;
}
