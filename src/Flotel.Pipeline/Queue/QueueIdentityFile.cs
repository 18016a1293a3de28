using System.Globalization;

namespace Flotel.Pipeline.Queue;

/// <summary>
/// The queue's identity file, <c>IDENTITY</c> (format at the top of <c>DurableQueue.cs</c>): a random id made when the
/// directory first holds a queue. Sequence ids never go back within one queue, but a queue whose directory was wiped
/// starts again at 1; a consumer that remembers a sequence (the embedded log store's position) keeps the identity with
/// it, so a position from an earlier queue is never taken for one of this queue.
/// </summary>
internal static class QueueIdentityFile
{
    /// <summary>The file's name in the queue directory.</summary>
    public const string FileName = "IDENTITY";

    // 32 lower-case hex digits and a newline.
    private const int Length = 33;

    /// <summary>
    /// Reads the directory's identity, or makes one (written to a <c>.tmp</c> file, fsync'd and renamed) when the file is
    /// missing or damaged: a queue made before identities existed, or one whose file was lost. A new identity only
    /// means that remembered positions are not trusted: they are re-delivered, never skipped.
    /// </summary>
    public static string LoadOrCreate(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (TryRead(path, out var existing))
        {
            return existing;
        }

        return Create(directory);
    }

    /// <summary>
    /// Makes a new identity and writes it (a <c>.tmp</c> file, fsync'd and renamed over the old one): for a directory
    /// whose sequence ids start again at 1 (no segment and no cursor left), whose old identity would otherwise vouch
    /// for positions of records that no longer exist.
    /// </summary>
    public static string Create(string directory)
    {
        var path = Path.Combine(directory, FileName);
        var identity = Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture);
        var tmp = path + QueueCursorFile.TemporaryExtension;
        using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            file.Write(System.Text.Encoding.ASCII.GetBytes(identity + "\n"));
            file.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
        return identity;
    }

    private static bool TryRead(string path, out string identity)
    {
        identity = "";
        if (!File.Exists(path))
        {
            return false;
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != Length || bytes[^1] != (byte)'\n')
        {
            return false;
        }

        var text = System.Text.Encoding.ASCII.GetString(bytes, 0, Length - 1);
        if (!Guid.TryParseExact(text, "N", out var guid) || guid.ToString("N", CultureInfo.InvariantCulture) != text)
        {
            return false;
        }

        identity = text;
        return true;
    }
}
