namespace Flotel.Agent.Podman;

/// <summary>The podman API socket does not exist or does not answer: podman is not running here.</summary>
public sealed class PodmanUnavailableException : Exception
{
    public PodmanUnavailableException(string socketPath, string reason, Exception? inner = null)
        : base($"podman is not available at {socketPath} ({reason}); start its API with `podman system service --time=0 unix://{socketPath}` or pass --podman-socket", inner)
    {
        SocketPath = socketPath;
    }

    public PodmanUnavailableException()
        : this("(unset)", "no socket")
    {
    }

    public PodmanUnavailableException(string message)
        : base(message)
    {
        SocketPath = string.Empty;
    }

    public PodmanUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
        SocketPath = string.Empty;
    }

    /// <summary>The socket that was tried.</summary>
    public string SocketPath { get; } = string.Empty;
}
