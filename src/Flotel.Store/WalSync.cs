using Microsoft.Data.Sqlite;

namespace Flotel.Store;

/// <summary>
/// A sync point of a store in WAL mode with <c>synchronous=NORMAL</c>: makes every transaction committed so far on its
/// connection survive a power loss or an OS crash, not only a process crash.
/// </summary>
/// <remarks>
/// SQLite's documentation of <c>PRAGMA synchronous</c> (https://www.sqlite.org/pragma.html#pragma_synchronous): in WAL
/// mode with NORMAL the WAL is synchronized before each checkpoint and the database after each completed checkpoint,
/// but most transactions sync nothing, so a transaction committed with NORMAL may roll back after a power loss or an OS
/// crash (it survives a process crash); with FULL the WAL is synced once more after each commit, which makes the
/// transaction durable across a power loss (also https://www.sqlite.org/wal.html, "Performance Considerations"). That
/// sync is of the whole WAL file (the unix VFS's xSync is an fsync/fdatasync of the file), so it covers every earlier
/// frame too; frames from before the last WAL reset are in the database file, which a checkpoint synchronizes when it
/// completes, and only a completed checkpoint lets the WAL be reset. So one small transaction committed with FULL is a
/// sync point: one fsync for whatever was committed since the last one. The transaction must change a page (SQLite
/// writes no frame, and syncs nothing, for a commit that changed nothing, and leaves a row whose bytes an update does
/// not change as it was), hence a counter that grows with each sync. <c>synchronous</c> is a setting of the
/// connection: it goes back to NORMAL at once, so the store's other commits keep their cost.
/// </remarks>
internal static class WalSync
{
    /// <summary>The one-row table each sync point updates (created with the store's schema).</summary>
    public const string CreateTable =
        "CREATE TABLE IF NOT EXISTS sync_points(id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL);"
        + "INSERT OR IGNORE INTO sync_points(id, count) VALUES (1, 0);";

    /// <summary>Commits the sync point on <paramref name="connection"/> (no transaction open on it, the caller holds its writer lock).</summary>
    public static void Commit(SqliteConnection connection)
    {
        Execute(connection, "PRAGMA synchronous=FULL");
        try
        {
            using SqliteTransaction tx = connection.BeginTransaction();
            using (SqliteCommand update = connection.CreateCommand())
            {
                update.Transaction = tx;
                update.CommandText = "UPDATE sync_points SET count = count + 1 WHERE id = 1";
                _ = update.ExecuteNonQuery();
            }

            tx.Commit();
        }
        finally
        {
            Execute(connection, "PRAGMA synchronous=NORMAL");
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        _ = command.ExecuteNonQuery();
    }
}
