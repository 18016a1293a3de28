namespace Flotel.Store.Logs;

/// <summary>
/// Decompressed blocks shared by every connection of one store, least recently used first out, bounded by the bytes
/// they hold (<see cref="MaxBytes"/>): a scan over a block's rows decompresses it once, and the blocks of a page of hits
/// are read once.
/// </summary>
/// <remarks>
/// A block is keyed by its index, row id range and compressed length. Re-packing replaces blocks by one covering their
/// ranges, so an old entry is never asked for again and ages out; the sources of a row id never change. An index's
/// entries go when it is dropped (<see cref="Forget"/>), since a later index may get its id.
/// </remarks>
internal sealed class LogBlockCache(long maxBytes)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Key, LinkedListNode<(Key Key, LogBlock Block)>> _entries = [];
    private readonly LinkedList<(Key Key, LogBlock Block)> _order = new();
    private long _bytes;
    private long _hits;
    private long _misses;
    private long _evictions;
    private int _epoch;

    /// <summary>Most bytes of decompressed blocks kept.</summary>
    public long MaxBytes { get; } = maxBytes;

    /// <summary>Bytes of decompressed blocks held now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>Changes whenever an index is forgotten: a connection's last block is valid only within one epoch.</summary>
    public int Epoch => Volatile.Read(ref _epoch);

    public LogBlock? Find(Key key)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out LinkedListNode<(Key Key, LogBlock Block)>? node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                _hits++;
                return node.Value.Block;
            }

            _misses++;
            return null;
        }
    }

    public void Add(Key key, LogBlock block)
    {
        if (block.Bytes > MaxBytes)
        {
            return;
        }

        lock (_gate)
        {
            if (_entries.ContainsKey(key))
            {
                return;
            }

            _entries[key] = _order.AddFirst((key, block));
            _bytes += block.Bytes;
            while (_bytes > MaxBytes && _order.Last is { } oldest)
            {
                Remove(oldest);
                _evictions++;
            }
        }
    }

    /// <summary>Drops every block of an index (it was dropped; its id may be given again).</summary>
    public void Forget(long indexId)
    {
        lock (_gate)
        {
            _epoch++;
            for (LinkedListNode<(Key Key, LogBlock Block)>? node = _order.First; node is not null;)
            {
                LinkedListNode<(Key Key, LogBlock Block)>? next = node.Next;
                if (node.Value.Key.IndexId == indexId)
                {
                    Remove(node);
                }

                node = next;
            }
        }
    }

    private void Remove(LinkedListNode<(Key Key, LogBlock Block)> node)
    {
        _order.Remove(node);
        _ = _entries.Remove(node.Value.Key);
        _bytes -= node.Value.Block.Bytes;
    }

    // MessagesOnly: the block decoded for its messages section only (LogBlock.DecodeMessages), kept apart from the whole.
    internal readonly record struct Key(long IndexId, long FirstRowId, long LastRowId, long CompressedBytes, bool MessagesOnly = false);
}
