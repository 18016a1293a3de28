namespace Flotel.Agent.Podman;

/// <summary>Podman answered a request with an error status; the message carries libpod's own <c>message</c>.</summary>
public sealed class PodmanApiException : Exception
{
    public PodmanApiException(string operation, int statusCode, string podmanMessage)
        : base($"podman {operation} failed: HTTP {statusCode}: {podmanMessage}")
    {
        StatusCode = statusCode;
    }

    public PodmanApiException()
    {
    }

    public PodmanApiException(string message)
        : base(message)
    {
    }

    public PodmanApiException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>The HTTP status (404 = no such pod or container).</summary>
    public int StatusCode { get; }
}
