namespace Flotel.Agent.Podman;

/// <summary>The stream byte of a multiplexed log frame (Docker/libpod attach protocol: 0 stdin, 1 stdout, 2 stderr).</summary>
public enum PodmanStream : byte
{
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
}
