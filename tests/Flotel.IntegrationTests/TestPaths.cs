namespace Flotel.IntegrationTests;

/// <summary>Paths of the repository the tests run from.</summary>
internal static class TestPaths
{
    /// <summary>The directory holding Flotel.sln, found above the test assembly.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Flotel.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Flotel.sln not found above " + AppContext.BaseDirectory);
    }
}
