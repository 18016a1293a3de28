namespace Flotel.Gateway.Outputs.Timestream;

/// <summary>
/// Timestream for LiveAnalytics limits a record must meet, checked before sending so one bad record never fails a
/// whole call (a ValidationException fails all 100). Source: Timestream developer guide, "Service limits" and
/// "Naming constraints" (docs/reference/timestream-and-remote-write.md §2.4–§2.6), and the WriteRecords model.
/// </summary>
public static class TimestreamLimits
{
    /// <summary>Records per WriteRecords call (model: <c>Records</c> max 100; adapter PR #5).</summary>
    public const int MaxRecordsPerRequest = 100;

    /// <summary>Dimensions per table, so per record.</summary>
    public const int MaxDimensions = 128;

    /// <summary>Dimension name length in UTF-8 bytes.</summary>
    public const int MaxDimensionNameBytes = 60;

    /// <summary>Measure name length in UTF-8 bytes (not the adapter's 62).</summary>
    public const int MaxMeasureNameBytes = 256;

    /// <summary>
    /// Maximum record size, 2 KB, counted as the metering page does: 8 bytes of time, the UTF-8 bytes of the dimension
    /// names and values and of the measure name, and 8 bytes for a DOUBLE. This also bounds the "dimension name +
    /// value pair size per series" (2 KB).
    /// </summary>
    public const int MaxRecordBytes = 2048;

    /// <summary>Database and table name lengths (bytes); names are 3–256 of <c>[a-zA-Z0-9_.-]</c>.</summary>
    public const int MaxTableNameBytes = 256;

    /// <summary>Shortest database or table name.</summary>
    public const int MinTableNameBytes = 3;

    /// <summary>Memory-store retention bounds, hours (min 1 h, max 8766 h).</summary>
    public const int MinMemoryStoreRetentionHours = 1;

    /// <summary>See <see cref="MinMemoryStoreRetentionHours"/>.</summary>
    public const int MaxMemoryStoreRetentionHours = 8766;

    /// <summary>A table's default memory-store retention, hours.</summary>
    public const int DefaultMemoryStoreRetentionHours = 6;

    /// <summary>Records may be at most this far ahead of the service's clock ("future ingestion period").</summary>
    public static readonly TimeSpan FutureWindow = TimeSpan.FromMinutes(15);

    /// <summary>True when <paramref name="name"/> may not be a dimension or measure name (reserved by Timestream).</summary>
    public static bool IsReservedName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name is "measure_value" or "ts_non_existent_col" or "time"
            || name.StartsWith("ts_", StringComparison.Ordinal)
            || name.StartsWith("measure_name", StringComparison.Ordinal)
            || name.StartsWith("measure_value::", StringComparison.Ordinal);
    }
}
