using System.Globalization;
using System.Text;

namespace Flotel.Agent.Logs;

/// <summary>
/// The per-container capture cursors in <c>{data}/logs/cursors/{containerId}.cursor</c>: one line
/// <c>v1 TICKS COUNT</c>, written to a <c>.tmp</c> file, fsync'd and renamed over the old one, so a crash leaves
/// either the old or the new cursor, never a torn one.
/// </summary>
public sealed class ContainerCursorStore
{
    private readonly string _directory;

    public ContainerCursorStore(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
    }

    /// <summary>The saved cursor, or <see cref="LogCursor.Start"/> when there is none or it is unreadable.</summary>
    public LogCursor Load(string containerId)
    {
        var path = PathOf(containerId);
        try
        {
            var parts = File.ReadAllText(path, Encoding.ASCII).Trim().Split(' ');
            if (parts.Length == 3 && parts[0] == "v1"
                && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                return new LogCursor(ticks, count);
            }
        }
        catch (FileNotFoundException)
        {
        }
        catch (DirectoryNotFoundException)
        {
        }

        return LogCursor.Start;
    }

    /// <summary>Saves a cursor (tmp, fsync, rename).</summary>
    public void Save(string containerId, LogCursor cursor)
    {
        var path = PathOf(containerId);
        var tmp = path + ".tmp";
        var text = string.Create(CultureInfo.InvariantCulture, $"v1 {cursor.TimestampTicks} {cursor.Count}\n");
        using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 64, FileOptions.None))
        {
            file.Write(Encoding.ASCII.GetBytes(text));
            file.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Container ids that have a cursor file.</summary>
    public IReadOnlyList<string> List()
    {
        var ids = new List<string>();
        foreach (var file in Directory.EnumerateFiles(_directory, "*.cursor"))
        {
            ids.Add(Path.GetFileNameWithoutExtension(file));
        }

        return ids;
    }

    /// <summary>Forgets a container that no longer exists.</summary>
    public void Delete(string containerId) => File.Delete(PathOf(containerId));

    private string PathOf(string containerId)
    {
        // Container ids are 64 hex digits; anything else is refused rather than used as a path.
        foreach (var c in containerId)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                throw new ArgumentException($"not a container id: {containerId}", nameof(containerId));
            }
        }

        return Path.Combine(_directory, containerId + ".cursor");
    }
}
