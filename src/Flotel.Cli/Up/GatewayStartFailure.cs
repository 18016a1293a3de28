using System.Net.Sockets;

namespace Flotel.Cli.Up;

/// <summary>
/// Why up's gateway did not start, in the words an operator acts on. Only an address already in use gets the hint
/// about another <c>flotel up</c>: the same hint on a permission error or a bad data directory sent people hunting for
/// a process that did not exist.
/// </summary>
internal static class GatewayStartFailure
{
    /// <summary>Inner exceptions followed at most: Kestrel wraps a bind error twice, nothing of ours goes deeper.</summary>
    private const int MaxDepth = 16;

    /// <summary>The line after "cannot start the gateway: ".</summary>
    public static string Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var socket = FindSocketError(exception);
        var message = exception.Message;
        if (socket is not null && !message.Contains(socket.Message, StringComparison.OrdinalIgnoreCase))
        {
            // Kestrel's "Failed to bind to address …" names the address but not always the reason; the socket names the reason.
            message = $"{message}: {socket.Message}";
        }

        return socket?.SocketErrorCode switch
        {
            SocketError.AddressAlreadyInUse => $"{message} (another flotel up running? choose other ports with --http and --syslog)",
            SocketError.AccessDenied => $"{message} (ports below 1024 need root or the CAP_NET_BIND_SERVICE capability)",
            SocketError.AddressNotAvailable => $"{message} (--http and --syslog must name an address of this machine, such as 127.0.0.1 or 0.0.0.0)",
            _ => message,
        };
    }

    /// <summary>
    /// The socket error under <paramref name="exception"/>: Kestrel reports a port in use as an <see cref="IOException"/>
    /// around an AddressInUseException around the <see cref="SocketException"/>, other bind errors as the bare
    /// <see cref="SocketException"/>; the syslog listener throws the bare one too.
    /// </summary>
    internal static SocketException? FindSocketError(Exception exception)
    {
        var pending = new Stack<(Exception Error, int Depth)>();
        pending.Push((exception, 0));
        while (pending.Count > 0)
        {
            var (error, depth) = pending.Pop();
            if (error is SocketException socket)
            {
                return socket;
            }

            if (depth >= MaxDepth)
            {
                continue;
            }

            if (error is AggregateException aggregate)
            {
                for (var i = aggregate.InnerExceptions.Count - 1; i >= 0; i--)
                {
                    pending.Push((aggregate.InnerExceptions[i], depth + 1));
                }
            }
            else if (error.InnerException is { } inner)
            {
                pending.Push((inner, depth + 1));
            }
        }

        return null;
    }
}
