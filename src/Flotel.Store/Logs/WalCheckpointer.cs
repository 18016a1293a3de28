using Microsoft.Data.Sqlite;

namespace Flotel.Store.Logs;

/// <summary>
/// Runs the log store's WAL checkpoints on a connection and thread of their own, so the writer's commits do not wait
/// for them. SQLite's automatic checkpoint runs inside the commit that crosses the threshold: it copies every page of
/// the WAL into the database and fsyncs both files, a pause of tens of milliseconds (more on a busy disk) every
/// ~40 MiB that the ingest loop spent doing nothing else. A PASSIVE checkpoint from another connection copies the same
/// pages while the writer keeps appending (SQLite WAL: "checkpoints and writers can run concurrently").
/// </summary>
/// <remarks>
/// A PASSIVE checkpoint never catches up with a writer that keeps appending, so the WAL would never restart; the store
/// therefore ends each round itself (<see cref="TakeFinished"/>, then a short TRUNCATE checkpoint on the writer for the
/// frames appended meanwhile). Durability is unchanged: in WAL mode with <c>synchronous=NORMAL</c> a commit is in the WAL (the OS's page cache)
/// when <see cref="LogStore.WriteAsync"/> returns either way (on disk only after the next <see cref="LogStore.SyncAsync"/>
/// or a completed checkpoint), and the checkpoint only moves committed pages. The
/// writer keeps a larger automatic checkpoint as a backstop, so the WAL stays bounded if this loop falls behind.
/// </remarks>
internal sealed class WalCheckpointer : IDisposable
{
    private readonly SqliteConnection _connection;

    /// <summary>Released by <see cref="Request"/>; at most one pending request (a second one is the same work).</summary>
    private readonly SemaphoreSlim _requested = new(0, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private long _completed;
    private long _failed;
    private int _finished;
    private int _running;

    public WalCheckpointer(string connectionString)
    {
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Checkpoints that ran (for tests and diagnostics).</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Checkpoints that failed; the writer's automatic checkpoint covers for them.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Whether no checkpoint is asked for or running (for tests).</summary>
    public bool Idle => _requested.CurrentCount == 0 && Volatile.Read(ref _running) == 0;

    /// <summary>Whether a checkpoint finished since the last call (then clears it).</summary>
    public bool TakeFinished() => Interlocked.Exchange(ref _finished, 0) == 1;

    /// <summary>Asks for a checkpoint soon; never blocks.</summary>
    public void Request()
    {
        if (_requested.CurrentCount == 0)
        {
            try
            {
                _ = _requested.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another request got there first: one checkpoint serves both.
            }
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _loop.GetAwaiter().GetResult();
        _connection.Dispose();
        _requested.Dispose();
        _stopping.Dispose();
    }

    private async Task LoopAsync()
    {
        using SqliteCommand checkpoint = _connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        while (true)
        {
            try
            {
                await _requested.WaitAsync(_stopping.Token).ConfigureAwait(false);
                Volatile.Write(ref _running, 1);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                _ = checkpoint.ExecuteNonQuery();
                _ = Interlocked.Increment(ref _completed);
                _ = Interlocked.Exchange(ref _finished, 1);
            }
            catch (SqliteException)
            {
                _ = Interlocked.Increment(ref _failed);
            }
            finally
            {
                Volatile.Write(ref _running, 0);
            }
        }
    }
}
