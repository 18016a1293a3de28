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

/// <summary>A program <c>flotel up</c> uses, found by any of <see cref="Paths"/> (a name on PATH, or an absolute path).</summary>
internal sealed record SystemRequirement(string Name, IReadOnlyList<string> Paths, string AptPackage, string DnfPackage)
{
    /// <summary>The package that provides it under <paramref name="manager"/>.</summary>
    public string PackageFor(PackageManager manager) => manager == PackageManager.Dnf ? DnfPackage : AptPackage;
}

/// <summary>The decision, with the commands to run (each an argument list) and the one-line command shown to the user.</summary>
internal sealed record InstallPlan(InstallDecision Decision, IReadOnlyList<string> Packages, IReadOnlyList<IReadOnlyList<string>> Commands, string CommandLine);

/// <summary>
/// The programs <c>flotel up</c> needs for the blog's workload (podman, runc, catatonit, a static busybox for the local
/// image) and system metrics (node_exporter), and whether and how to install the missing ones: with apt-get (dnf where
/// apt-get is absent) when running as root or when <c>sudo</c> works without a password, unless <c>--no-install</c>.
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
    ];

    /// <summary>The requirements none of whose paths exist (names looked up on PATH and the sbin folders).</summary>
    public static IReadOnlyList<SystemRequirement> Missing(IEnumerable<SystemRequirement> requirements, Func<string, bool> exists) =>
        requirements.Where(r => !r.Paths.Any(exists)).ToList();

    /// <summary>Whether <paramref name="path"/> (absolute, or a program name) exists on this machine.</summary>
    public static bool Exists(string path) => path.StartsWith('/') ? File.Exists(path) : ExecutableLookup.Find(path) is not null;

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
