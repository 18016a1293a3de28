using System.CommandLine;
using Flotel.Wire.Manifests;

namespace Flotel.Cli.Commands;

/// <summary>
/// The manifests <c>flotel apply -f</c> and <c>flotel delete -f</c> read: files or folders (recursively, like
/// <c>kubectl apply</c>), validated with the loader of <c>flotel check --manifests</c>, cut into one entry per object.
/// </summary>
internal static class FleetManifestFiles
{
    private static readonly HashSet<string> Kinds = new(StringComparer.Ordinal) { "EdgeDevice", "EdgeWorkload", "ConfigMap", "Secret" };

    /// <summary>One object of a file: its document, <c>FILE:LINE</c>, and its id (<c>edgedevice/name</c>).</summary>
    public sealed record Entry(string Yaml, string Source, string Key);

    /// <summary><c>-f PATH…</c>.</summary>
    public static Option<string[]> Option(string verb) => new("--filename", "-f")
    {
        Description = $"Manifest file or folder to {verb} (folders are read recursively: *.yaml, *.yml); repeatable",
        HelpName = "PATH",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = true,
        Required = true,
    };

    /// <summary><c>--gateway URL</c>: the admin API.</summary>
    public static Option<Uri> Gateway() => CommonOptions.HttpUrl("--gateway", "http://127.0.0.1:9201",
        "Gateway base URL (its HTTP listener, where the fleet admin API is); basic auth as http://USER:PASS@HOST:PORT, or a bearer token in FLOTEL_ADMIN_TOKEN");

    /// <summary>
    /// Reads and validates every file; prints every diagnostic to <paramref name="error"/>. Null (after printing why)
    /// when anything is unreadable or invalid: then nothing may be sent.
    /// </summary>
    public static async Task<List<Entry>?> ReadAsync(IEnumerable<string> paths, string command, TextWriter error)
    {
        var texts = new List<(string Text, string File)>();
        try
        {
            foreach (var path in paths)
            {
                foreach (var (full, display) in ManifestLoader.FindFiles(path))
                {
                    texts.Add((await File.ReadAllTextAsync(full).ConfigureAwait(false), display));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"flotel {command}: {e.Message}").ConfigureAwait(false);
            return null;
        }

        var set = ManifestLoader.LoadTexts(texts);
        foreach (var d in set.Diagnostics)
        {
            await error.WriteLineAsync(d.ToString()).ConfigureAwait(false);
        }

        var errors = set.Diagnostics.Count(d => d.IsError);
        if (errors > 0)
        {
            await error.WriteLineAsync($"flotel {command}: {errors} error(s) in the manifests; nothing was sent").ConfigureAwait(false);
            return null;
        }

        var entries = new List<Entry>();
        foreach (var (text, file) in texts)
        {
            foreach (var document in ManifestDocuments.Split(text))
            {
                // Documents of other kinds were reported as skipped by the loader.
                if (document.Kind is { } kind && Kinds.Contains(kind) && document.Name is { } name)
                {
                    entries.Add(new Entry(document.Text, $"{file}:{document.Line}", kind.ToLowerInvariant() + "/" + name));
                }
            }
        }

        if (entries.Count == 0)
        {
            await error.WriteLineAsync($"flotel {command}: no EdgeDevice, EdgeWorkload, ConfigMap or Secret found").ConfigureAwait(false);
            return null;
        }

        return entries;
    }
}
