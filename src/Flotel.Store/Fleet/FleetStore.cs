using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace Flotel.Store.Fleet;

/// <summary>
/// The fleet control plane's state (docs/fleet.md): manifests, enrolment tokens, devices and the certificates issued to
/// them, in one SQLite database.
/// <code>
/// fleet.db (WAL)
///   objects      (kind, name, yaml, source, updated_ms)            PK (kind, name)
///   tokens       (id PK, secret_sha256 BLOB, device, expires_ms, used_ms NULL)
///   devices      (name PK, generation, digest, bundle, last_seen_ms NULL, status TEXT NULL, instance_id NULL)
///   certificates (serial PK, device, not_after_ms, revoked 0|1)     INDEX (device)
///   rollout      (id = 1 PK, state TEXT)                           the latest staged rollout as JSON (docs/fleet.md §3.1)
/// </code>
/// Times are Unix milliseconds. The secret of a token is never stored, only its SHA-256. All public members are
/// thread-safe (one lock, one connection): the control plane writes rarely and in small transactions.
/// </summary>
public sealed class FleetStore : IDisposable
{
    private readonly Lock _lock = new();
    private readonly SqliteConnection _db;
    private bool _disposed;

    private FleetStore(string path)
    {
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        Execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
        Execute("""
            CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, name TEXT NOT NULL, yaml TEXT NOT NULL, source TEXT NOT NULL,
                updated_ms INTEGER NOT NULL, PRIMARY KEY (kind, name)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, secret_sha256 BLOB NOT NULL, device TEXT NOT NULL,
                expires_ms INTEGER NOT NULL, used_ms INTEGER) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS devices (name TEXT PRIMARY KEY, generation INTEGER NOT NULL, digest TEXT NOT NULL,
                bundle TEXT NOT NULL, last_seen_ms INTEGER, status TEXT, instance_id TEXT) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS certificates (serial TEXT PRIMARY KEY, device TEXT NOT NULL, not_after_ms INTEGER NOT NULL,
                revoked INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS certificates_device ON certificates (device);
            CREATE TABLE IF NOT EXISTS rollout (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL);
            """);
    }

    /// <summary>Opens (creating when absent) <c>fleet.db</c> in <paramref name="directory"/>.</summary>
    public static FleetStore Open(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        return new FleetStore(Path.Combine(directory, "fleet.db"));
    }

    /// <summary>Every stored object, ordered by kind then name.</summary>
    public IReadOnlyList<FleetObject> ListObjects()
    {
        lock (_lock)
        {
            return ReadObjects(null);
        }
    }

    /// <summary>Number of stored objects (checked against the admin API's bound before an apply).</summary>
    public long CountObjects()
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT count(*) FROM objects");
            return (long)cmd.ExecuteScalar()!;
        }
    }

    /// <summary>Stores every object in one transaction and says, per object, whether it was created, changed or the same.</summary>
    public IReadOnlyList<FleetApplyResult> ApplyObjects(IReadOnlyList<FleetObject> objects) => ApplyObjects(objects, null);

    /// <summary>
    /// Stores every object and, in the same transaction, the rollout row that <paramref name="rollout"/> returns when
    /// given every object as stored after this apply and the per-object results (null = the row is left as it is). A
    /// crash or an exception (of <paramref name="rollout"/> too) leaves neither written: an apply and the staged rollout
    /// that holds devices back from it are one write (docs/fleet.md §3.1).
    /// </summary>
    public IReadOnlyList<FleetApplyResult> ApplyObjects(
        IReadOnlyList<FleetObject> objects, Func<IReadOnlyList<FleetObject>, IReadOnlyList<FleetApplyResult>, string?>? rollout)
    {
        ArgumentNullException.ThrowIfNull(objects);
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            var results = new List<FleetApplyResult>(objects.Count);
            foreach (var o in objects)
            {
                using var select = Command("SELECT yaml FROM objects WHERE kind = $k AND name = $n", tx, ("$k", o.Kind), ("$n", o.Name));
                var existing = select.ExecuteScalar() as string;
                var result = existing is null ? FleetApplyResult.Created
                    : string.Equals(existing, o.Yaml, StringComparison.Ordinal) ? FleetApplyResult.Unchanged : FleetApplyResult.Configured;
                using var upsert = Command("""
                    INSERT INTO objects (kind, name, yaml, source, updated_ms) VALUES ($k, $n, $y, $s, $u)
                    ON CONFLICT (kind, name) DO UPDATE SET source = $s, yaml = $y,
                        updated_ms = CASE WHEN yaml = $y THEN updated_ms ELSE $u END
                    """, tx, ("$k", o.Kind), ("$n", o.Name), ("$y", o.Yaml), ("$s", o.Source), ("$u", o.Updated.ToUnixTimeMilliseconds()));
                upsert.ExecuteNonQuery();
                results.Add(result);
            }

            if (rollout?.Invoke(ReadObjects(tx), results) is { } json)
            {
                WriteRollout(json, tx);
            }

            tx.Commit();
            return results;
        }
    }

    /// <summary>Deletes one object; false when it was not there.</summary>
    public bool DeleteObject(string kind, string name)
    {
        lock (_lock)
        {
            using var cmd = Command("DELETE FROM objects WHERE kind = $k AND name = $n", null, ("$k", kind), ("$n", name));
            return cmd.ExecuteNonQuery() > 0;
        }
    }

    /// <summary>Stores a new enrolment token.</summary>
    public void AddToken(FleetToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        lock (_lock)
        {
            using var cmd = Command("INSERT INTO tokens (id, secret_sha256, device, expires_ms, used_ms) VALUES ($i, $s, $d, $e, $u)", null,
                ("$i", token.Id), ("$s", token.SecretSha256), ("$d", token.Device), ("$e", token.Expires.ToUnixTimeMilliseconds()),
                ("$u", token.UsedAt?.ToUnixTimeMilliseconds()));
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>The stored token with <paramref name="id"/>, or null.</summary>
    public FleetToken? GetToken(string id)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT id, secret_sha256, device, expires_ms, used_ms FROM tokens WHERE id = $i", null, ("$i", id));
            using var reader = cmd.ExecuteReader();
            return reader.Read()
                ? new FleetToken(reader.GetString(0), (byte[])reader[1], reader.GetString(2), FromMs(reader.GetInt64(3)),
                    reader.IsDBNull(4) ? null : FromMs(reader.GetInt64(4)))
                : null;
        }
    }

    /// <summary>Deletes tokens that expired before <paramref name="before"/> (used or not); returns how many.</summary>
    public int DeleteExpiredTokens(DateTimeOffset before)
    {
        lock (_lock)
        {
            using var cmd = Command("DELETE FROM tokens WHERE expires_ms < $b", null, ("$b", before.ToUnixTimeMilliseconds()));
            return cmd.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Enrolment in one transaction (docs/fleet.md §4): the token must exist with a matching secret, be unused and
    /// unexpired; then <paramref name="issue"/> makes the certificate for the token's device (it may throw: nothing is
    /// changed), the certificate is recorded and the token marked used. Returns the check and, when accepted, what
    /// <paramref name="issue"/> returned.
    /// </summary>
    public (FleetTokenCheck Check, T? Issued) Enroll<T>(string tokenId, byte[] secretSha256, DateTimeOffset now, Func<string, (T Issued, FleetCertificate Certificate)> issue)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(secretSha256);
        ArgumentNullException.ThrowIfNull(issue);
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            using var select = Command("SELECT secret_sha256, device, expires_ms, used_ms FROM tokens WHERE id = $i", tx, ("$i", tokenId));
            string device;
            using (var reader = select.ExecuteReader())
            {
                if (!reader.Read() || !CryptographicOperations.FixedTimeEquals((byte[])reader[0], secretSha256))
                {
                    return (FleetTokenCheck.Unknown, null);
                }

                if (!reader.IsDBNull(3))
                {
                    return (FleetTokenCheck.AlreadyUsed, null);
                }

                if (reader.GetInt64(2) <= now.ToUnixTimeMilliseconds())
                {
                    return (FleetTokenCheck.Expired, null);
                }

                device = reader.GetString(1);
            }

            var (issued, certificate) = issue(device);
            InsertCertificate(certificate, tx);
            using var use = Command("UPDATE tokens SET used_ms = $u WHERE id = $i", tx, ("$u", now.ToUnixTimeMilliseconds()), ("$i", tokenId));
            use.ExecuteNonQuery();
            tx.Commit();
            return (FleetTokenCheck.Accepted, issued);
        }
    }

    /// <summary>Records a certificate issued outside enrolment (a renewal).</summary>
    public void AddCertificate(FleetCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        lock (_lock)
        {
            InsertCertificate(certificate, null);
        }
    }

    /// <summary>Every certificate issued to <paramref name="device"/>, newest expiry first.</summary>
    public IReadOnlyList<FleetCertificate> CertificatesOf(string device)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT serial, device, not_after_ms, revoked FROM certificates WHERE device = $d ORDER BY not_after_ms DESC", null, ("$d", device));
            return ReadCertificates(cmd);
        }
    }

    /// <summary>The serials of every revoked certificate (the gateway keeps them in memory).</summary>
    public IReadOnlyList<string> RevokedSerials()
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT serial FROM certificates WHERE revoked = 1");
            using var reader = cmd.ExecuteReader();
            var list = new List<string>();
            while (reader.Read())
            {
                list.Add(reader.GetString(0));
            }

            return list;
        }
    }

    /// <summary>Revokes every certificate issued to <paramref name="device"/>; returns the serials newly revoked.</summary>
    public IReadOnlyList<string> RevokeDevice(string device)
    {
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            using var select = Command("SELECT serial, device, not_after_ms, revoked FROM certificates WHERE device = $d AND revoked = 0", tx, ("$d", device));
            var serials = ReadCertificates(select).Select(c => c.Serial).ToList();
            using var update = Command("UPDATE certificates SET revoked = 1 WHERE device = $d", tx, ("$d", device));
            update.ExecuteNonQuery();
            tx.Commit();
            return serials;
        }
    }

    /// <summary>Every device row, ordered by name.</summary>
    public IReadOnlyList<FleetDeviceRecord> ListDevices()
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT name, generation, digest, bundle, last_seen_ms, status, instance_id FROM devices ORDER BY name");
            using var reader = cmd.ExecuteReader();
            var list = new List<FleetDeviceRecord>();
            while (reader.Read())
            {
                list.Add(new FleetDeviceRecord(
                    reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3),
                    reader.IsDBNull(4) ? null : FromMs(reader.GetInt64(4)),
                    reader.IsDBNull(5) ? null : reader.GetString(5),
                    reader.IsDBNull(6) ? null : reader.GetString(6)));
            }

            return list;
        }
    }

    /// <summary>Stores a device's rendered bundle (creating the row when new; last-seen and status are kept).</summary>
    public void SaveBundle(string device, long generation, string digest, string bundle)
    {
        lock (_lock)
        {
            using var cmd = Command("""
                INSERT INTO devices (name, generation, digest, bundle) VALUES ($n, $g, $d, $b)
                ON CONFLICT (name) DO UPDATE SET generation = $g, digest = $d, bundle = $b
                """, null, ("$n", device), ("$g", generation), ("$d", digest), ("$b", bundle));
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Persists a batch of last-seen times and status reports in one transaction (docs/fleet.md §5); unknown devices are skipped.</summary>
    public void SaveSeen(IReadOnlyCollection<FleetSeen> seen)
    {
        ArgumentNullException.ThrowIfNull(seen);
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            foreach (var s in seen)
            {
                using var cmd = Command("""
                    UPDATE devices SET last_seen_ms = $l, status = coalesce($s, status), instance_id = coalesce($i, instance_id) WHERE name = $n
                    """, tx, ("$l", s.LastSeen.ToUnixTimeMilliseconds()), ("$s", s.StatusJson), ("$i", s.InstanceId), ("$n", s.Device));
                cmd.ExecuteNonQuery();
            }

            tx.Commit();
        }
    }

    /// <summary>The latest staged rollout as its owner wrote it (JSON), or null when there never was one.</summary>
    public string? LoadRollout()
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT state FROM rollout WHERE id = 1");
            return cmd.ExecuteScalar() as string;
        }
    }

    /// <summary>Replaces the stored rollout (one row: only the latest rollout is kept).</summary>
    public void SaveRollout(string json)
    {
        ArgumentException.ThrowIfNullOrEmpty(json);
        lock (_lock)
        {
            WriteRollout(json, null);
        }
    }

    /// <summary>Deletes a device row (its EdgeDevice was deleted); false when absent.</summary>
    public bool DeleteDevice(string device)
    {
        lock (_lock)
        {
            using var cmd = Command("DELETE FROM devices WHERE name = $n", null, ("$n", device));
            return cmd.ExecuteNonQuery() > 0;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _db.Dispose();
        }
    }

    private List<FleetObject> ReadObjects(SqliteTransaction? tx)
    {
        using var cmd = Command("SELECT kind, name, yaml, source, updated_ms FROM objects ORDER BY kind, name", tx);
        using var reader = cmd.ExecuteReader();
        var list = new List<FleetObject>();
        while (reader.Read())
        {
            list.Add(new FleetObject(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), FromMs(reader.GetInt64(4))));
        }

        return list;
    }

    private void WriteRollout(string json, SqliteTransaction? tx)
    {
        ArgumentException.ThrowIfNullOrEmpty(json);
        using var cmd = Command("INSERT INTO rollout (id, state) VALUES (1, $s) ON CONFLICT (id) DO UPDATE SET state = $s", tx, ("$s", json));
        cmd.ExecuteNonQuery();
    }

    private void InsertCertificate(FleetCertificate certificate, SqliteTransaction? tx)
    {
        using var cmd = Command("INSERT INTO certificates (serial, device, not_after_ms, revoked) VALUES ($s, $d, $n, $r)", tx,
            ("$s", certificate.Serial), ("$d", certificate.Device), ("$n", certificate.NotAfter.ToUnixTimeMilliseconds()), ("$r", certificate.Revoked ? 1 : 0));
        cmd.ExecuteNonQuery();
    }

    private static List<FleetCertificate> ReadCertificates(SqliteCommand cmd)
    {
        using var reader = cmd.ExecuteReader();
        var list = new List<FleetCertificate>();
        while (reader.Read())
        {
            list.Add(new FleetCertificate(reader.GetString(0), reader.GetString(1), FromMs(reader.GetInt64(2)), reader.GetInt64(3) != 0));
        }

        return list;
    }

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private void Execute(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql, SqliteTransaction? tx = null, params (string Name, object? Value)[] parameters)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return cmd;
    }
}
