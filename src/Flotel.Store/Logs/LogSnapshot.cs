namespace Flotel.Store.Logs;

/// <summary>
/// The documents visible at one moment (a point in time): per index, its id and the highest row id then. Rows are
/// numbered in insertion order, so a later document has a higher row id and is not visible; an index created later is
/// not in the snapshot. What is removed afterwards is gone from the snapshot too: documents replaced by a write with the
/// same id or deleted, and whole indices dropped by retention (an index re-created under the same name has another uuid
/// and stays invisible).
/// </summary>
public sealed record LogSnapshot(IReadOnlyList<LogSnapshotIndex> Indices)
{
    /// <summary>The entry of <paramref name="name"/>, or null.</summary>
    public LogSnapshotIndex? Find(string name)
    {
        foreach (LogSnapshotIndex index in Indices)
        {
            if (index.Name == name)
            {
                return index;
            }
        }

        return null;
    }
}

/// <summary>
/// One index of a <see cref="LogSnapshot"/>: rows up to <paramref name="MaxRowId"/> of the index with <paramref name="Uuid"/>
/// (its numeric id may be reused once it is dropped; its uuid is drawn at random when it is created).
/// </summary>
public sealed record LogSnapshotIndex(string Name, string Uuid, long MaxRowId);
