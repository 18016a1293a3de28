namespace Flotel.Pipeline.Queue;

// Stop, the directory lock, and the data-available signal readers wait on.
public sealed partial class DurableQueue
{
    /// <summary>
    /// Stops the queue: refuses new appends, lets the commit loop write and fsync what is pending (those appends
    /// complete normally), persists reader cursors, closes the files and releases readers waiting in
    /// <see cref="QueueReader.WaitToReadAsync"/> (they get false). Idempotent; safe to call concurrently.
    /// </summary>
    public Task StopAsync()
    {
        lock (_gate)
        {
            if (_stopTask is null)
            {
                _accepting = false;

                // Run outside the lock: the stop path takes the lock again and waits for the commit loop.
                _stopTask = Task.Run(StopCoreAsync);
            }

            return _stopTask;
        }
    }

    /// <inheritdoc cref="StopAsync"/>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private async Task StopCoreAsync()
    {
        _wake.Writer.TryComplete();
        await _commitLoop.ConfigureAwait(false);
        DiscardWriter(truncate: false);

        // A commit whose cursor write failed is written again; with a CursorSyncInterval the last write may not be
        // fsync'd yet: write those again, synced. (Cursors drop-oldest advanced stay as the reader left them.)
        List<ReaderState> dirty = [];
        lock (_gate)
        {
            foreach (var state in _readers.Values)
            {
                if (state.Acknowledged > state.Persisted || (_options.CursorSyncInterval > TimeSpan.Zero && _options.Fsync))
                {
                    if (_options.CursorSyncInterval > TimeSpan.Zero)
                    {
                        state.SyncedAt = 0;
                    }

                    dirty.Add(state);
                }
            }
        }

        foreach (var state in dirty)
        {
            try
            {
                PersistCursor(state, acknowledgedOnly: true);
            }
            catch (IOException)
            {
                // The older cursor stays: those records are re-delivered, nothing is lost.
            }
        }

        List<ReaderState> all;
        lock (_gate)
        {
            all = [.. _readers.Values];
        }

        foreach (var state in all)
        {
            lock (state.FileLock)
            {
                state.CursorFile.Dispose();
            }
        }

        lock (_gate)
        {
            _stopped = true;
            SignalDataLocked();
        }

        _directoryLock.Dispose();
    }

    /// <summary>
    /// Takes the directory's lock file. Two queues on one directory would interleave records in the same segment and
    /// overwrite each other's cursors; the second one fails here, at start-up, with a message naming the directory.
    /// The lock is the kernel's (flock), so it goes away with the process however it ends.
    /// </summary>
    private static FileStream LockDirectory(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, LockFileName);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1);
        }
        catch (IOException e) when (File.Exists(path))
        {
            throw new IOException(
                $"the durable queue directory '{Path.GetFullPath(directory)}' is in use by another process or queue (its lock file '{LockFileName}' is held); " +
                "two gateways cannot share one data directory", e);
        }
    }

    /// <summary>The lock file's name in the queue directory.</summary>
    public const string LockFileName = "LOCK";

    /// <summary>
    /// Releases the directory lock without stopping anything, as the kernel does when a process is killed: only for
    /// tests that simulate a crash by abandoning a queue and opening the directory again in the same process.
    /// </summary>
    internal void UnsafeReleaseDirectoryLock() => _directoryLock.Dispose();

    private void SignalDataLocked()
    {
        var signal = _dataAvailable;
        _dataAvailable = NewSignal();
        signal.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
