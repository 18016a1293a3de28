using System.Runtime.InteropServices;

namespace Flotel.Cli.Up;

/// <summary>The system's package manager <c>flotel up</c> installs with.</summary>
internal enum PackageManager
{
    /// <summary>Neither apt-get nor dnf is on PATH.</summary>
    None,

    /// <summary>Debian, Ubuntu: <c>apt-get</c>.</summary>
    Apt,

    /// <summary>Fedora, RHEL: <c>dnf</c>.</summary>
    Dnf,
}

/// <summary>What <c>flotel up</c> does about missing programs.</summary>
internal enum InstallDecision
{
    /// <summary>Nothing is missing.</summary>
    NothingMissing,

    /// <summary>Install them (as root, or through <c>sudo -n</c>).</summary>
    Install,

    /// <summary><c>--no-install</c>: name the command only.</summary>
    Refused,

    /// <summary>Not root and sudo asks for a password: name the command only.</summary>
    NotPermitted,

    /// <summary>No apt-get or dnf: name the packages only.</summary>
    NoPackageManager,
}

/// <summary>
/// A program or library <c>flotel up</c> uses, found by any of <see cref="Paths"/>: a program name on PATH, an absolute
/// path, or a shared library name (<c>libNAME.so.N</c>) the dynamic loader can load.
/// </summary>
internal sealed record SystemRequirement(string Name, IReadOnlyList<string> Paths, string AptPackage, string DnfPackage)
{
    /// <summary>The package that provides it under <paramref name="manager"/>.</summary>
    public string PackageFor(PackageManager manager) => manager == PackageManager.Dnf ? DnfPackage : AptPackage;
}

/// <summary>The decision, with the commands to run (each an argument list) and the one-line command shown to the user.</summary>
internal sealed record InstallPlan(InstallDecision Decision, IReadOnlyList<string> Packages, IReadOnlyList<IReadOnlyList<string>> Commands, string CommandLine);

/// <summary>
/// The programs <c>flotel up</c> needs for the blog's workload (podman, runc, catatonit, a static busybox for the local
/// image) and system metrics (node_exporter), the OpenSSL library the fleet's certificates need (a minimal Debian, such
/// as debootstrap's minbase or the debian container image, has none), and whether and how to install the missing
/// ones: with apt-get (dnf where apt-get is absent) when running as root or when <c>sudo</c> works without a password,
/// unless <c>--no-install</c>.
/// </summary>
internal static class SystemPackages
{
    /// <summary>What <c>flotel up</c> looks for, in install order.</summary>
    public static readonly IReadOnlyList<SystemRequirement> Requirements =
    [
        new("podman", ["podman"], "podman", "podman"),
        new("runc", ["runc"], "runc", "runc"),
        new("catatonit", ["catatonit", "/usr/libexec/podman/catatonit"], "catatonit", "catatonit"),
        new("busybox-static", ["/bin/busybox", "/usr/bin/busybox", "/usr/sbin/busybox"], "busybox-static", "busybox"),
        new("node_exporter", ["prometheus-node-exporter", "node_exporter"], "prometheus-node-exporter", "golang-github-prometheus-node-exporter"),

        // .NET loads libssl.so.3, else libssl.so.1.1. The package is the openssl tool's, which depends on the release's
        // libssl under whatever name it has (Debian 12 libssl3, Debian 13 and Ubuntu 24.04 libssl3t64; Fedora openssl-libs).
        new("OpenSSL", ["libssl.so.3", "libssl.so.1.1"], "openssl", "openssl"),
    ];

    /// <summary>The requirements none of whose paths exist (names looked up on PATH and the sbin folders).</summary>
    public static IReadOnlyList<SystemRequirement> Missing(IEnumerable<SystemRequirement> requirements, Func<string, bool> exists) =>
        requirements.Where(r => !r.Paths.Any(exists)).ToList();

    /// <summary>Whether <paramref name="path"/> (absolute, a program name, or a shared library name) exists on this machine.</summary>
    public static bool Exists(string path)
    {
        if (path.StartsWith('/'))
        {
            return File.Exists(path);
        }

        if (!IsLibraryName(path))
        {
            return ExecutableLookup.Find(path) is not null;
        }

        if (!NativeLibrary.TryLoad(path, out var handle))
        {
            return false;
        }

        NativeLibrary.Free(handle);
        return true;
    }

    /// <summary>Whether <paramref name="path"/> names a shared library (<c>libNAME.so</c> or <c>libNAME.so.N</c>) rather than a program.</summary>
    public static bool IsLibraryName(string path) =>
        path.StartsWith("lib", StringComparison.Ordinal) && (path.EndsWith(".so", StringComparison.Ordinal) || path.Contains(".so.", StringComparison.Ordinal));

    /// <summary>The command that lists the installed packages' names, one a line, under <paramref name="manager"/>.</summary>
    public static IReadOnlyList<string> ListInstalledCommand(PackageManager manager) => manager == PackageManager.Dnf
        ? ["rpm", "-qa", "--queryformat", "%{NAME}\\n"]
        : ["dpkg-query", "-W", "-f", "${db:Status-Status} ${Package}\\n"];

    /// <summary>
    /// The installed package names in <paramref name="listing"/>, the output of <see cref="ListInstalledCommand"/>: dpkg
    /// also lists removed packages whose configuration remains, so only its "installed ..." lines count.
    /// </summary>
    public static IReadOnlySet<string> ParseInstalled(PackageManager manager, string listing)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (manager == PackageManager.Dnf)
            {
                names.Add(line);
            }
            else if (line.StartsWith("installed ", StringComparison.Ordinal))
            {
                names.Add(line["installed ".Length..]);
            }
        }

        return names;
    }

    /// <summary>
    /// What an install added: the requested <paramref name="packages"/> now installed, in order, then the other packages
    /// the package manager pulled in as dependencies, sorted.
    /// </summary>
    public static (IReadOnlyList<string> Requested, IReadOnlyList<string> Dependencies) Added(
        IReadOnlyList<string> packages, IReadOnlySet<string> before, IReadOnlySet<string> after)
    {
        var added = after.Where(p => !before.Contains(p)).ToHashSet(StringComparer.Ordinal);
        var requested = packages.Where(added.Contains).ToList();
        var dependencies = added.Where(p => !packages.Contains(p, StringComparer.Ordinal)).Order(StringComparer.Ordinal).ToList();
        return (requested, dependencies);
    }

    /// <summary>apt-get where present, else dnf where present.</summary>
    public static PackageManager Detect(Func<string, bool> exists) =>
        exists("apt-get") ? PackageManager.Apt : exists("dnf") ? PackageManager.Dnf : PackageManager.None;

    /// <summary>Decides what to do about <paramref name="missing"/>; pure, so every branch is unit-tested.</summary>
    public static InstallPlan Decide(IReadOnlyList<SystemRequirement> missing, PackageManager manager, bool isRoot, bool passwordlessSudo, bool noInstall)
    {
        if (missing.Count == 0)
        {
            return new InstallPlan(InstallDecision.NothingMissing, [], [], string.Empty);
        }

        var packages = missing.Select(r => r.PackageFor(manager)).Distinct(StringComparer.Ordinal).ToList();
        if (manager == PackageManager.None)
        {
            return new InstallPlan(InstallDecision.NoPackageManager, packages, [], "install " + string.Join(' ', packages) + " with the system's package manager");
        }

        string[] sudo = isRoot ? [] : ["sudo", "-n"];
        IReadOnlyList<IReadOnlyList<string>> commands = manager == PackageManager.Apt
            ? [[.. sudo, "apt-get", "update", "-q"], [.. sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", .. packages]]
            : [[.. sudo, "dnf", "install", "-y", "-q", .. packages]];
        var shown = (isRoot ? string.Empty : "sudo ") + (manager == PackageManager.Apt ? "apt-get install " : "dnf install ") + string.Join(' ', packages);
        var decision = noInstall ? InstallDecision.Refused
            : isRoot || passwordlessSudo ? InstallDecision.Install
            : InstallDecision.NotPermitted;
        return new InstallPlan(decision, packages, decision == InstallDecision.Install ? commands : [], shown);
    }
}
