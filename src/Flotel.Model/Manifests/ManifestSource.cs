namespace Flotel.Model.Manifests;

/// <summary>
/// Where a manifest object came from: the file (as the user named it), the line of the document,
/// and the line of every field path in it, so that checks done after loading (reference
/// resolution) can still point at <c>FILE:LINE</c>.
/// </summary>
public sealed class ManifestSource
{
    private readonly IReadOnlyDictionary<string, int> _fieldLines;

    public ManifestSource(string file, int line, IReadOnlyDictionary<string, int>? fieldLines = null, bool hasLoadErrors = false)
    {
        File = file;
        Line = line;
        _fieldLines = fieldLines ?? new Dictionary<string, int>(StringComparer.Ordinal);
        HasLoadErrors = hasLoadErrors;
    }

    /// <summary>True when reading this object's document produced errors (its model holds only the valid parts).</summary>
    public bool HasLoadErrors { get; }

    /// <summary>The same source, marked as having load errors.</summary>
    public ManifestSource WithLoadErrors() => new(File, Line, _fieldLines, hasLoadErrors: true);

    /// <summary>The file path, relative to the working directory as given by the user, '/'-separated.</summary>
    public string File { get; }

    /// <summary>1-based line where the document starts.</summary>
    public int Line { get; }

    /// <summary>
    /// The 1-based line of <paramref name="fieldPath"/> (e.g. <c>spec.logCollection.x.bufferSize</c>,
    /// <c>spec.pod.spec.containers[0].image</c>); when that field is absent, the line of its nearest
    /// present parent; the document line as a last resort.
    /// </summary>
    public int LineOf(string fieldPath)
    {
        ArgumentNullException.ThrowIfNull(fieldPath);
        var path = fieldPath;
        while (path.Length > 0)
        {
            if (_fieldLines.TryGetValue(path, out var line))
            {
                return line;
            }

            var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
            if (cut <= 0)
            {
                break;
            }

            path = path[..cut];
        }

        return Line;
    }
}
