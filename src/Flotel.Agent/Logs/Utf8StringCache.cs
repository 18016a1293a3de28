using System.Text;

namespace Flotel.Agent.Logs;

/// <summary>
/// Turns the few distinct UTF-8 names of a target (workloads, container ids) into strings without allocating per line:
/// a small ring of recent (bytes, string) pairs. Single-threaded (one forwarder).
/// </summary>
internal sealed class Utf8StringCache
{
    private readonly (byte[] Bytes, string Text)[] _entries;
    private int _count;
    private int _next;
    private int _last;

    public Utf8StringCache(int capacity = 64) => _entries = new (byte[], string)[capacity];

    public string Get(ReadOnlySpan<byte> utf8)
    {
        // Lines of a batch mostly come from one container: the entry found last is tried first.
        if (_count > 0 && utf8.SequenceEqual(_entries[_last].Bytes))
        {
            return _entries[_last].Text;
        }

        for (int i = 0; i < _count; i++)
        {
            if (utf8.SequenceEqual(_entries[i].Bytes))
            {
                _last = i;
                return _entries[i].Text;
            }
        }

        var text = Encoding.UTF8.GetString(utf8);
        _last = _next;
        _entries[_next] = (utf8.ToArray(), text);
        _next = (_next + 1) % _entries.Length;
        _count = Math.Min(_count + 1, _entries.Length);
        return text;
    }
}
