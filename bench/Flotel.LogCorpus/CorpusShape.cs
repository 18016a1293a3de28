namespace Flotel.LogCorpus;

/// <summary>What the generated lines look like.</summary>
internal enum CorpusShape
{
    /// <summary>Every shape below, line by line in proportion (blog 20 %, access 30 %, json 30 %, system 20 %).</summary>
    Mix,

    /// <summary>The blog's workload (<c>echo "New message at: $(date)"</c> every second) in the Flotta device worker's layout.</summary>
    Blog,

    /// <summary>A web workload's access log (NCSA combined format) in the Flotta layout.</summary>
    Access,

    /// <summary>Services' JSON application logs (one object per line, varying keys) in the Flotta layout.</summary>
    Json,

    /// <summary>The device's own systemd, kernel, sshd, cron, NetworkManager and podman lines, RFC 3164 as rsyslog forwards them.</summary>
    System,
}
