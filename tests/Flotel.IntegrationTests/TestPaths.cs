namespace Flotel.IntegrationTests;

/// <summary>Paths of the repository the tests run from.</summary>
internal static class TestPaths
{
    /// <summary>The directory holding Flotel.sln, found above the test assembly.</summary>
    public static string RepoRoot() => Repository.Root;
}
