using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Flotel.Store.Logs;

/// <summary>
/// A prepared statement driven through SQLitePCLRaw directly, for the store's two per-document inserts (and a few
/// writer statements): it binds the
/// <c>_source</c> UTF-8 bytes as TEXT without a round trip through a .NET string, and skips the provider's
/// per-execution reader, which together were about a third of the write cost. Strings are encoded into one reused
/// buffer and bound as bytes (SQLite copies them: SQLITE_TRANSIENT), instead of a new UTF-8 array per bind.
/// </summary>
internal sealed class RawStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;
    private byte[] _utf8 = new byte[256];

    public RawStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle!;
        int rc = raw.sqlite3_prepare_v2(_db, sql, out _stmt);
        Check(rc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Bind(int index, long value) => Check(raw.sqlite3_bind_int64(_stmt, index, value));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Bind(int index, long? value) => Check(value is { } v ? raw.sqlite3_bind_int64(_stmt, index, v) : raw.sqlite3_bind_null(_stmt, index));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Bind(int index, string? value)
    {
        if (value is null)
        {
            Check(raw.sqlite3_bind_null(_stmt, index));
            return;
        }

        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (_utf8.Length < max)
        {
            _utf8 = new byte[Math.Max(max, _utf8.Length * 2)];
        }

        int length = Encoding.UTF8.GetBytes(value, _utf8);
        Check(raw.sqlite3_bind_text(_stmt, index, _utf8.AsSpan(0, length)));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void BindUtf8(int index, ReadOnlySpan<byte> value) => Check(raw.sqlite3_bind_text(_stmt, index, value));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void BindBlob(int index, ReadOnlySpan<byte> value) => Check(raw.sqlite3_bind_blob(_stmt, index, value));

    /// <summary>Runs the statement to completion and resets it for the next use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute()
    {
        int rc = raw.sqlite3_step(_stmt);
        _ = raw.sqlite3_reset(_stmt);
        if (rc != raw.SQLITE_DONE && rc != raw.SQLITE_ROW)
        {
            throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc);
        }
    }

    /// <summary>Steps through the statement's rows, calling <paramref name="onRow"/> for each, and resets it for the next use.</summary>
    public void ForEachRow(Action<sqlite3_stmt> onRow)
    {
        int rc;
        try
        {
            while ((rc = raw.sqlite3_step(_stmt)) == raw.SQLITE_ROW)
            {
                onRow(_stmt);
            }
        }
        finally
        {
            _ = raw.sqlite3_reset(_stmt);
        }

        if (rc != raw.SQLITE_DONE)
        {
            throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc);
        }
    }

    public void Dispose() => _stmt.Dispose();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc);
        }
    }
}
