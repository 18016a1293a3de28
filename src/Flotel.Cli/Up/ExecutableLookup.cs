namespace Flotel.Cli.Up;

/// <summary>Finds a program on <c>PATH</c> the way a shell would.</summary>
internal static class ExecutableLookup
{
    /// <summary>The full path of the first of <paramref name="names"/> found on PATH (or in the sbin folders), or null.</summary>
    public static string? Find(params string[] names)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        var folders = path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/sbin", "/usr/bin", "/usr/local/bin"]).Distinct(StringComparer.Ordinal);
        foreach (var folder in folders)
        {
            foreach (var name in names)
            {
                var candidate = Path.Combine(folder, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
