using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Flotel.Agent.Fleet;

/// <summary>
/// The last good bundle (docs/fleet.md §5): <c>bundle.yaml</c>, the manifests the agent runs, and <c>bundle.json</c>,
/// their generation and digest. Written only after a bundle resolved and applied, each file tmp-then-rename; read at
/// start so the agent runs its plan before (or without) the gateway answering.
/// </summary>
public static class LastGoodBundle
{
    /// <summary><c>sha256:</c> + lower-case hex SHA-256 of the YAML's UTF-8 bytes (docs/fleet.md §1).</summary>
    public static string Digest(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(yaml)));
    }

    /// <summary>
    /// The stored bundle, or null when there is none or the pair does not belong together (a crash between the two
    /// renames, or an edit by hand): <paramref name="problem"/> then says why, empty when there simply is none.
    /// </summary>
    public static (BundleState State, string Yaml)? Load(FleetFiles files, out string problem)
    {
        ArgumentNullException.ThrowIfNull(files);
        problem = string.Empty;
        if (!File.Exists(files.Bundle) || !File.Exists(files.BundleState))
        {
            return null;
        }

        try
        {
            var yaml = File.ReadAllText(files.Bundle);
            var state = JsonSerializer.Deserialize(File.ReadAllBytes(files.BundleState), FleetJson.Default.BundleState);
            if (state is null || state.Digest != Digest(yaml))
            {
                problem = $"{files.BundleState} does not describe {files.Bundle} (digest differs)";
                return null;
            }

            return (state, yaml);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            problem = e.Message;
            return null;
        }
    }

    /// <summary>Stores <paramref name="yaml"/> as the last good bundle: the manifests first, then the state naming them.</summary>
    public static void Save(FleetFiles files, BundleState state, string yaml)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(state);
        files.WriteAtomically(files.Bundle, yaml, secret: false);
        files.WriteAtomically(files.BundleState, JsonSerializer.Serialize(state, FleetJson.Default.BundleState) + "\n", secret: false);
    }
}
