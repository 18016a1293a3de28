using Flotel.Gateway.Fleet;
using Flotel.Store.Fleet;
using Flotel.Wire.Manifests;

namespace Flotel.Gateway.Tests.Fleet;

/// <summary>Turns manifest files into stored objects the way <c>flotel apply</c> and the admin API do.</summary>
internal static class FleetTestKit
{
    public static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

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

    public static List<FleetObject> ObjectsOf(string path)
    {
        var objects = new List<FleetObject>();
        foreach (var (full, display) in ManifestLoader.FindFiles(path))
        {
            objects.AddRange(ObjectsOfText(File.ReadAllText(full), display));
        }

        return objects;
    }

    public static List<FleetObject> ObjectsOfText(string text, string file)
    {
        var objects = new List<FleetObject>();
        foreach (var document in ManifestDocuments.Split(text))
        {
            var (o, diagnostics) = FleetObjects.Parse(document.Text, $"{file}:{document.Line}", Now);
            Assert.True(o is not null, string.Join("\n", diagnostics));
            objects.Add(o);
        }

        return objects;
    }
}
