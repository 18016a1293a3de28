using Flotel.Model.Manifests;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Flotel.Wire.Manifests;

/// <summary>
/// Loads a directory of Flotta manifests (architecture §4): every <c>*.yaml</c>/<c>*.yml</c> file below it (hidden entries excepted),
/// in ordinal path order, each holding one or more YAML documents. Bad input never throws: it becomes a
/// <see cref="ManifestDiagnostic"/> naming <c>FILE:LINE</c> and the field. Only an unreadable directory or
/// file throws (<see cref="IOException"/>). <c>${ENV}</c> is not expanded (Flotta does not either).
/// </summary>
public static class ManifestLoader
{
    /// <summary>
    /// Recursive, skipping hidden entries (names starting with '.' on Unix): a Kubernetes ConfigMap volume
    /// holds the same files again under <c>..data/</c> and <c>..2024_…/</c>, which would load every object twice.
    /// </summary>
    private static readonly EnumerationOptions SearchOptions = new()
    {
        RecurseSubdirectories = true,
        IgnoreInaccessible = false,
        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
    };

    /// <summary>Loads every manifest file under <paramref name="directory"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="IOException">A directory or file cannot be read.</exception>
    public static ManifestSet LoadDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"manifest directory '{directory}' does not exist");
        }

        List<(string Full, string Display)> files;
        try
        {
            files = Directory.EnumerateFiles(directory, "*", SearchOptions)
                .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
                .Select(f => (f, DisplayPath(directory, f)))
                .OrderBy(f => f.Item2, StringComparer.Ordinal)
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot read manifest directory '{directory}': {e.Message}", e);
        }

        var builder = new ManifestSetBuilder();
        foreach (var (full, display) in files)
        {
            string text;
            try
            {
                text = File.ReadAllText(full);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"cannot read manifest file '{display}': {e.Message}", e);
            }

            builder.AddFile(text, display);
        }

        return builder.Build();
    }

    /// <summary>Loads the documents of one file's text; <paramref name="file"/> is only used in diagnostics.</summary>
    public static ManifestSet LoadText(string text, string file)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(file);
        var builder = new ManifestSetBuilder();
        builder.AddFile(text, file);
        return builder.Build();
    }

    /// <summary>
    /// Loads several texts into one set, each under its own name in diagnostics (the fleet control plane loads its
    /// stored objects this way, one text per object; <c>flotel apply</c> the files it was given).
    /// </summary>
    public static ManifestSet LoadTexts(IEnumerable<(string Text, string File)> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var builder = new ManifestSetBuilder();
        foreach (var (text, file) in texts)
        {
            builder.AddFile(text, file);
        }

        return builder.Build();
    }

    /// <summary>
    /// The manifest files <paramref name="path"/> names, as <see cref="LoadDirectory"/> finds them: the file itself, or
    /// every <c>*.yaml</c>/<c>*.yml</c> below a directory (hidden entries excepted), in ordinal path order, each with the
    /// path as the user would type it.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    /// <exception cref="IOException">A directory cannot be read.</exception>
    public static IReadOnlyList<(string Full, string Display)> FindFiles(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path))
        {
            return [(path, path.Replace('\\', '/'))];
        }

        if (!Directory.Exists(path))
        {
            throw new FileNotFoundException($"'{path}' is neither a file nor a directory", path);
        }

        try
        {
            return Directory.EnumerateFiles(path, "*", SearchOptions)
                .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
                .Select(f => (f, DisplayPath(path, f)))
                .OrderBy(f => f.Item2, StringComparer.Ordinal)
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot read manifest directory '{path}': {e.Message}", e);
        }
    }

    /// <summary>The path as the user would type it: the directory as given, then the relative path, '/'-separated.</summary>
    private static string DisplayPath(string directory, string file) =>
        Path.Combine(directory, Path.GetRelativePath(directory, file)).Replace('\\', '/');
}
