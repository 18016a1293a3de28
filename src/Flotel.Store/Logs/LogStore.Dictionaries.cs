using Microsoft.Data.Sqlite;
using ZstdSharp;

namespace Flotel.Store.Logs;

// Trained zstd dictionaries for the messages frames of an index's blocks (dicts_N in the schema of LogStore, the frame
// layout in LogBlock): trained once per index from its first messages in idle time, then used by every block written or
// re-packed after it.
public sealed partial class LogStore
{
    // 110 KB (zstd's own default capacity) and 4 MiB of messages as individual samples: on the messages of 200,000 events
    // of bench/Flotel.LogCorpus's mix, compressed per block (about 336 KB of messages) at RepackLevel, no dictionary is
    // 4.89 MB, a 64 KB dictionary from 2 MiB of messages 4.11, 110 KB from 2 MiB 3.96, from 4 MiB 3.91; 8 KiB slices
    // instead of messages train worse (3.99, 3.98). Training 4 MiB takes about 1 s of one core and 17 MB of memory
    // (ZstdSharp, docs/benchmarks.md "Log storage"): bounded by the sample bytes, whatever the index's size.
    internal const int DictionaryBytes = 112_640;
    internal const long TrainMessageBytes = 4L * 1024 * 1024;

    // Fewer messages than this train a dictionary that is mostly their own text; the index is looked at again once its
    // sources doubled.
    internal const long MinTrainMessageBytes = 1L * 1024 * 1024;

    // An index is first looked at once its sources pass this: messages are a third to most of a source in the corpus's
    // shapes, so 4 MiB of sources is about the least that can hold MinTrainMessageBytes of messages.
    internal const long TrainSourceBytes = 4L * 1024 * 1024;

    // A single message longer than this adds only its first bytes as a sample: the samples are for the vocabulary shared
    // between messages, and one huge message would otherwise be the whole training set.
    private const int MaxSampleBytes = 16 * 1024;

    /// <summary>When training looks at an index and how many message bytes it needs (tests lower both).</summary>
    internal (long SourceBytes, long MinMessageBytes) DictionaryTraining { get; set; } = (TrainSourceBytes, MinTrainMessageBytes);

    /// <summary>Dictionaries trained since the store opened (diagnostics and tests).</summary>
    internal long DictionariesTrained => Interlocked.Read(ref _dictionariesTrained);

    private long _dictionariesTrained;

    /// <summary>The trained dictionary an index's re-packs use (null: none yet), for tests.</summary>
    internal byte[]? DictionaryOf(string index)
    {
        _writeGate.Wait();
        try
        {
            return _indices.TryGetValue(index, out IndexState? state) ? state.Dictionary : null;
        }
        finally
        {
            _ = _writeGate.Release();
        }
    }

    // Reads the dictionary an index was given (its dicts_N holds one row; none for an index without one or made before).
    private void LoadDictionary(IndexState index)
    {
        if (Scalar(_writer, $"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{index.Dicts}'") == 0)
        {
            return;
        }

        using SqliteCommand read = _writer.CreateCommand();
        read.CommandText = $"SELECT id, data FROM {index.Dicts} ORDER BY id DESC LIMIT 1";
        using SqliteDataReader reader = read.ExecuteReader();
        if (reader.Read())
        {
            (index.DictionaryId, index.Dictionary) = ((uint)reader.GetInt64(0), (byte[])reader.GetValue(1));
        }
    }

    // The writer's view of an index's dictionaries (what its blocks may name): the one it has.
    private static Func<long, uint, byte[]?> WriterDictionaries(IndexState index) =>
        (_, id) => index.Dictionary is not null && id == index.DictionaryId ? index.Dictionary : null;

    /// <summary>
    /// Trains the dictionary of one index written since the store opened that has none and enough sources (see
    /// <see cref="TrainSourceBytes"/>): its messages are read oldest first under the write lock, the training runs without
    /// it, and the dictionary is committed in its own transaction before any block uses it. Returns false when no index
    /// was due.
    /// </summary>
    private async ValueTask<bool> TrainStepAsync(bool onlyDue, CancellationToken cancellationToken)
    {
        IndexState? index;
        List<byte[]>? samples;
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            (long sourceBytes, long minMessageBytes) = DictionaryTraining;
            index = onlyDue && !RepackDue()
                ? null
                : _indices.Values.FirstOrDefault(i => i.NeedsRepack && i.Written && i.Dictionary is null
                    && i.SourceBytes >= Math.Max(i.TrainAtBytes, sourceBytes));
            if (index is null)
            {
                return false;
            }

            // Looked at once per doubling of the index, whether or not a dictionary comes of it.
            index.TrainAtBytes = 2 * Math.Max(index.SourceBytes, 1);
            samples = Samples(index, minMessageBytes);
        }
        finally
        {
            _ = _writeGate.Release();
        }

        if (samples is null)
        {
            return true;
        }

        byte[] dictionary;
        try
        {
            dictionary = await Task.Run(() => DictBuilder.TrainFromBuffer(samples, DictionaryBytes), cancellationToken).ConfigureAwait(false);
        }
        catch (ZstdException)
        {
            // Too few or too alike samples for zstd's trainer: the index goes on without a dictionary.
            return true;
        }

        uint id = LogBlock.DictionaryId(dictionary);
        if (id == 0)
        {
            return true;
        }

        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Retention may have dropped the index meanwhile (a later index of the same name is another state).
            if (_disposed || !_indices.TryGetValue(index.Name, out IndexState? current) || !ReferenceEquals(current, index))
            {
                return true;
            }

            using (SqliteTransaction tx = _writer.BeginTransaction())
            {
                Execute($"CREATE TABLE IF NOT EXISTS {index.Dicts}(id INTEGER PRIMARY KEY, data BLOB NOT NULL)", tx);
                using SqliteCommand insert = _writer.CreateCommand();
                insert.Transaction = tx;
                insert.CommandText = $"INSERT OR REPLACE INTO {index.Dicts}(id, data) VALUES (@id, @data)";
                _ = insert.Parameters.AddWithValue("@id", (long)id);
                _ = insert.Parameters.AddWithValue("@data", dictionary);
                _ = insert.ExecuteNonQuery();
                tx.Commit();
            }

            // Only once committed may a block name it (a crash before leaves blocks without a dictionary).
            (index.DictionaryId, index.Dictionary) = (id, dictionary);
            _ = Interlocked.Increment(ref _dictionariesTrained);
            return true;
        }
        finally
        {
            _ = _writeGate.Release();
        }
    }

    // The index's messages, oldest block first, one sample each, up to TrainMessageBytes; null when they come to less than
    // minMessageBytes.
    private List<byte[]>? Samples(IndexState index, long minMessageBytes)
    {
        var samples = new List<byte[]>();
        long total = 0;
        using SqliteCommand list = _writer.CreateCommand();
        list.CommandText = $"SELECT first_rowid, last_rowid, data FROM {index.Blocks} ORDER BY last_rowid";
        using SqliteDataReader reader = list.ExecuteReader();
        Func<long, uint, byte[]?> dictionaries = WriterDictionaries(index);
        while (total < TrainMessageBytes && reader.Read())
        {
            (long first, long last) = (reader.GetInt64(0), reader.GetInt64(1));
            LogBlock block;
            try
            {
                block = _blocks.Decode(index.Id, first, last - first + 1, (byte[])reader.GetValue(2), dictionaries, messagesOnly: true);
            }
            catch (InvalidDataException)
            {
                continue;
            }

            for (long rowId = first; rowId <= last && total < TrainMessageBytes; rowId++)
            {
                ReadOnlySpan<byte> message = block.HasMessages ? block.Message(rowId) : MessageOf(block, rowId);
                if (message.Length > 0)
                {
                    byte[] sample = message[..Math.Min(message.Length, MaxSampleBytes)].ToArray();
                    samples.Add(sample);
                    total += sample.Length;
                }
            }
        }

        return total >= minMessageBytes ? samples : null;
    }

    private static ReadOnlySpan<byte> MessageOf(LogBlock block, long rowId)
    {
        (int at, int length) = block.MessageRange(rowId);
        return at < 0 ? [] : block.Source(rowId).Slice(at, length);
    }
}
