using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// The web host's logger factory: the gateway's own, less the generic host's category. That category's only lines here
/// are "Hosting failed to start/stop", which repeat with a stack trace the bind or configuration error the caller
/// already reports in one line ("flotel gateway: cannot start: Failed to bind to address …"); the web host runs no
/// hosted services, whose failures it would otherwise report.
/// </summary>
internal sealed class WebHostLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    /// <summary>The generic host's log category (Microsoft.Extensions.Hosting's internal <c>Host</c> class).</summary>
    internal const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) =>
        string.Equals(categoryName, HostCategory, StringComparison.Ordinal) ? NullLogger.Instance : inner.CreateLogger(categoryName);

    /// <inheritdoc/>
    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    /// <summary>Nothing: the wrapped factory belongs to the gateway's caller.</summary>
    public void Dispose()
    {
    }
}
