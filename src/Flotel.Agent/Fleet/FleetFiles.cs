using System.Security.Cryptography;

namespace Flotel.Agent.Fleet;

/// <summary>
/// The agent's fleet files, in <c>DATA/fleet/</c> (docs/fleet.md §4–§6, architecture §10.3). Every file is written
/// under a temporary name, flushed and renamed, so a crash leaves the old file or the new one, never half of one; the
/// key files are created with mode 0600, so they are never readable by others, not even between create and chmod.
/// <code>
/// device.key   PKCS#8 PEM, 0600     device.crt  PEM (CN = device)     ca.crt  fleet CA PEM (pinned)
/// gateway      the fleet URL         instance    random id of this data directory (X-Flotel-Instance)
/// bundle.yaml  last good bundle      bundle.json {"generation": N, "digest": "sha256:…"} of bundle.yaml
/// device.key.next, device.crt.next   renewal candidate: committed by renaming the key, then the certificate
/// </code>
/// </summary>
public sealed class FleetFiles
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Public = Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public FleetFiles(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        Directory = Path.Combine(dataDirectory, "fleet");
    }

    /// <summary><c>DATA/fleet</c>.</summary>
    public string Directory { get; }

    public string Key => Path.Combine(Directory, "device.key");

    public string Certificate => Path.Combine(Directory, "device.crt");

    public string Ca => Path.Combine(Directory, "ca.crt");

    public string Gateway => Path.Combine(Directory, "gateway");

    public string Instance => Path.Combine(Directory, "instance");

    public string Bundle => Path.Combine(Directory, "bundle.yaml");

    public string BundleState => Path.Combine(Directory, "bundle.json");

    public string CandidateKey => Key + ".next";

    public string CandidateCertificate => Certificate + ".next";

    /// <summary>True when the device holds a key, a certificate and the CA (it enrolled before).</summary>
    public bool IsEnrolled => File.Exists(Key) && File.Exists(Certificate) && File.Exists(Ca);

    /// <summary>The gateway URL recorded at enrolment, or null.</summary>
    public string? ReadGateway() => File.Exists(Gateway) ? File.ReadAllText(Gateway).Trim() : null;

    /// <summary>
    /// This data directory's instance id, made once (16 random bytes, hex): two agents sharing one certificate report
    /// two ids, which the gateway flags (docs/fleet.md §6).
    /// </summary>
    public string InstanceId()
    {
        if (File.Exists(Instance))
        {
            var existing = File.ReadAllText(Instance).Trim();
            if (existing.Length == 32 && existing.All(char.IsAsciiHexDigitLower))
            {
                return existing;
            }
        }

        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        WriteAtomically(Instance, id + "\n", secret: false);
        return id;
    }

    /// <summary>
    /// Finishes or discards a renewal a crash interrupted: a candidate certificate means the candidate pair is complete
    /// (the certificate is written last), so the commit is finished; a candidate key alone never got its certificate
    /// and is deleted.
    /// </summary>
    public void RecoverCandidate()
    {
        if (File.Exists(CandidateCertificate))
        {
            CommitCandidate();
        }
        else if (File.Exists(CandidateKey))
        {
            File.Delete(CandidateKey);
        }
    }

    /// <summary>Switches to the candidate pair: the key first, then the certificate (see <see cref="RecoverCandidate"/>).</summary>
    public void CommitCandidate()
    {
        if (File.Exists(CandidateKey))
        {
            File.Move(CandidateKey, Key, overwrite: true);
        }

        File.Move(CandidateCertificate, Certificate, overwrite: true);
    }

    /// <summary>Writes <paramref name="path"/> via a temporary file; <paramref name="secret"/> files are 0600 from creation.</summary>
    public void WriteAtomically(string path, string text, bool secret)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var tmp = path + ".tmp";
        File.Delete(tmp);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = secret ? Private : Public;
        }

        using (var stream = new FileStream(tmp, options))
        {
            using var writer = new StreamWriter(stream);
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
    }
}
