using System.Buffers;

namespace Flotel.Gateway.Inputs.Syslog;

/// <summary>
/// The bytes one syslog connection read and has not framed yet, in one array rented from the shared pool while it
/// holds bytes and returned by <see cref="ReleaseIfEmpty"/> once every byte was framed, so a connection waiting between
/// lines holds no receive memory. What stays between reads is at most the start of one frame: the framer consumes an
/// oversized frame as it arrives (<see cref="Wire.Syslog.SyslogFramer"/>), so the array never grows much beyond
/// <c>max_frame_bytes</c> plus one read.
/// </summary>
internal sealed class SyslogReceiveBuffer
{
    private byte[]? _array;
    private int _start;
    private int _end;

    /// <summary>Bytes read and not yet consumed.</summary>
    public int Count => _end - _start;

    /// <summary>The length of the rented array (0 while none is held).</summary>
    public int Capacity => _array?.Length ?? 0;

    /// <summary>The unconsumed bytes, valid until the next <see cref="Reserve"/> or <see cref="ReleaseIfEmpty"/>.</summary>
    public ReadOnlySequence<byte> Unconsumed => _array is null ? ReadOnlySequence<byte>.Empty : new(_array, _start, _end - _start);

    /// <summary>Room for at least <paramref name="bytes"/> more after the unconsumed ones (rents, compacts or grows the array).</summary>
    public Memory<byte> Reserve(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        if (_array is null)
        {
            _array = ArrayPool<byte>.Shared.Rent(bytes);
        }
        else if (_array.Length - _end < bytes)
        {
            var held = _end - _start;
            if (held + bytes <= _array.Length)
            {
                _array.AsSpan(_start, held).CopyTo(_array);
            }
            else
            {
                var grown = ArrayPool<byte>.Shared.Rent(held + bytes);
                _array.AsSpan(_start, held).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(_array);
                _array = grown;
            }

            _start = 0;
            _end = held;
        }

        return _array.AsMemory(_end);
    }

    /// <summary>Marks <paramref name="count"/> bytes of the last <see cref="Reserve"/> as read.</summary>
    public void Advance(int count)
    {
        if (count < 0 || _array is null || _end + count > _array.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        _end += count;
    }

    /// <summary>Drops the first <paramref name="count"/> unconsumed bytes (framed or discarded).</summary>
    public void Consume(long count)
    {
        if (count < 0 || count > _end - _start)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        _start += (int)count;
        if (_start == _end)
        {
            _start = 0;
            _end = 0;
        }
    }

    /// <summary>Returns the array to the pool when every byte was consumed (the connection may now stay idle for long).</summary>
    public void ReleaseIfEmpty()
    {
        if (_array is not null && _start == _end)
        {
            ArrayPool<byte>.Shared.Return(_array);
            _array = null;
            _start = 0;
            _end = 0;
        }
    }

    /// <summary>Returns the array to the pool, unconsumed bytes or not (the connection ended).</summary>
    public void Release()
    {
        _start = _end;
        ReleaseIfEmpty();
    }
}
