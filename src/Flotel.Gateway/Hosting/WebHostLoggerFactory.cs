using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// The web host's logger factory: the gateway's own, less two of the web host's categories.
/// <list type="bullet">
/// <item>The generic host's (<see cref="HostCategory"/>): its only lines here are "Hosting failed to start/stop", which
/// repeat with a stack trace the bind or configuration error the caller already reports in one line ("flotel gateway:
/// cannot start: Failed to bind to address …"); the web host runs no hosted services, whose failures it would otherwise
/// report.</item>
/// <item>ASP.NET Core's request diagnostics (<see cref="HostingDiagnosticsCategory"/>): it writes only "Request
/// starting/finished" at Information, below the level the gateway logs Microsoft categories at, but while any level
/// of it is enabled the host starts an <c>Activity</c> and a log scope for every request and keeps them until the
/// request ends. A fleet device's bundle long poll is a request held for a minute, so that was ~0.5 KiB per connected
/// device doing nothing (docs/benchmarks.md, "Control plane: a device's bytes at 2,000 devices"). Its other lines are
/// startup failures the caller reports from the exception it gets.</item>
/// </list>
/// </summary>
internal sealed class WebHostLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    /// <summary>The generic host's log category (Microsoft.Extensions.Hosting's internal <c>Host</c> class).</summary>
    internal const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>The web host's per-request diagnostics category (Microsoft.AspNetCore.Hosting's <c>HostingApplicationDiagnostics</c>).</summary>
    internal const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) =>
        string.Equals(categoryName, HostCategory, StringComparison.Ordinal) || string.Equals(categoryName, HostingDiagnosticsCategory, StringComparison.Ordinal)
            ? NullLogger.Instance
            : inner.CreateLogger(categoryName);

    /// <inheritdoc/>
    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    /// <summary>Nothing: the wrapped factory belongs to the gateway's caller.</summary>
    public void Dispose()
    {
    }
}
