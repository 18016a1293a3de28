namespace Flotel.TestKit;

/// <summary>The repository the tests run from: found by walking up from the test binaries to the folder holding Flotel.sln.</summary>
public static class Repository
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>The directory holding Flotel.sln.</summary>
    public static string Root => RootPath.Value;

    /// <summary>A path inside the repository, e.g. <c>Repository.Path("docs", "configuration.md")</c>.</summary>
    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Flotel.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Flotel.sln not found above " + AppContext.BaseDirectory);
    }
}
