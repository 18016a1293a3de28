using System.Runtime.CompilerServices;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// The npm package of EsClients/: the official Elasticsearch and OpenSearch clients for Node.js, pinned in its
/// package-lock.json, and the scripts that drive them (<c>clients.mjs</c>, <c>paging.mjs</c>).
/// </summary>
internal static class EsClientsPackage
{
    /// <summary>Installs the package into a temp directory (<see cref="NodePackage"/>).</summary>
    public static Task<NodePackage> InstallAsync() =>
        NodePackage.InstallAsync(SourceFolder(), "es-clients", "package.json", "package-lock.json", "clients.mjs", "paging.mjs");

    private static string SourceFolder([CallerFilePath] string path = "") => Path.Combine(Path.GetDirectoryName(path)!, "EsClients");
}
