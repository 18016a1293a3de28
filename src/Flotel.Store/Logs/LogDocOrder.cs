namespace Flotel.Store.Logs;

/// <summary>
/// The document order, the value a <c>_doc</c> sort key takes: the index's id in the high bits and the row id in the
/// low <see cref="RowBits"/> bits, so it is unique across indices and orders by index creation, then by insertion.
/// </summary>
/// <remarks>
/// <code>
///  63        40 39                          0
/// ┌────────────┬────────────────────────────┐
/// │  index id  │   row id (docs_N.rowid)    │
/// └────────────┴────────────────────────────┘
/// </code>
/// 2^40 rows per daily index and 2^23 indices are far beyond what one gateway holds. It plays the role of
/// Elasticsearch's <c>_shard_doc</c> (shard index in the high bits, Lucene doc id in the low ones).
/// </remarks>
public static class LogDocOrder
{
    /// <summary>Bits of the row id.</summary>
    public const int RowBits = 40;

    private const long RowMask = (1L << RowBits) - 1;

    /// <summary>The order value of row <paramref name="rowId"/> of index <paramref name="indexId"/>.</summary>
    public static long Encode(long indexId, long rowId) => (indexId << RowBits) | (rowId & RowMask);

    /// <summary>The index id and row id of an order value.</summary>
    public static (long IndexId, long RowId) Decode(long value) => (value >> RowBits, value & RowMask);
}
