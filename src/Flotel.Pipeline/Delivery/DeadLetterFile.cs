using System.Buffers;
using System.Text.Json;

namespace Flotel.Pipeline.Delivery;

/// <summary>
/// A dead-letter file: one JSON object per line, appended and flushed to disk before the queue cursor moves past the
/// items, so "dead-lettered" means "on disk". Bounded: past <see cref="MaxBytes"/> further items are refused (the
/// driver counts them as lost with reason <c>dead_letter_full</c>) and the operator is told once.
/// <code>
/// {"time":"2026-11-27T13:00:00.000Z","output":"es","reason":"HTTP 400: out of order sample","item":&lt;the item&gt;}
/// </code>
/// <c>item</c> is written by the output's <see cref="ItemWriter"/> (a document as JSON, a series as labels+samples, a
/// payload as base64) so the file can be replayed with ordinary tools (docs/operations.md).
/// </summary>
public sealed class DeadLetterFile<T> : IDeadLetterSink<T>, IDisposable
{
    private readonly Lock _gate = new();
    private readonly string _path;
    private readonly Action<Utf8JsonWriter, T> _itemWriter;
    private readonly TimeProvider _time;
    private FileStream? _stream;

    /// <param name="path">File to append to; its directory is created.</param>
    /// <param name="itemWriter">Writes one item as a JSON value.</param>
    /// <param name="maxBytes">Size bound of the file.</param>
    /// <param name="time">Clock for the <c>time</c> field.</param>
    public DeadLetterFile(string path, Action<Utf8JsonWriter, T> itemWriter, long maxBytes = 256L * 1024 * 1024, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
        _itemWriter = itemWriter;
        MaxBytes = maxBytes;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Size bound of the file, bytes.</summary>
    public long MaxBytes { get; }

    /// <summary>Where the file is.</summary>
    public string Path => _path;

    /// <summary>Writes <see cref="ItemFailure{T}"/>s with their reasons.</summary>
    public Action<Utf8JsonWriter, T> ItemWriter => _itemWriter;

    /// <inheritdoc />
    public ValueTask<int> WriteAsync(string output, IReadOnlyList<ItemFailure<T>> failures, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(failures);
        var buffer = new ArrayBufferWriter<byte>();
        var lost = 0;
        lock (_gate)
        {
            _stream ??= Open();
            var written = _stream.Length;
            foreach (var failure in failures)
            {
                using (var json = new Utf8JsonWriter(buffer))
                {
                    json.WriteStartObject();
                    json.WriteString("time"u8, _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
                    json.WriteString("output"u8, output);
                    json.WriteString("reason"u8, failure.Reason);
                    json.WritePropertyName("item"u8);
                    _itemWriter(json, failure.Item);
                    json.WriteEndObject();
                }

                buffer.Write("\n"u8);
                if (written + buffer.WrittenCount > MaxBytes)
                {
                    // The file is full: nothing of this call is written (all or nothing keeps the count exact).
                    buffer.ResetWrittenCount();
                    lost = failures.Count;
                    break;
                }

            }

            if (buffer.WrittenCount > 0)
            {
                _stream.Write(buffer.WrittenSpan);
                _stream.Flush(flushToDisk: true);
            }
        }

        return ValueTask.FromResult(lost);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _stream?.Dispose();
            _stream = null;
        }
    }

    private FileStream Open()
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        return new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
    }
}
