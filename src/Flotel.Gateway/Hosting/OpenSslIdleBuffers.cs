using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// Lets OpenSSL free a TLS connection's record buffers while it is idle (<c>SSL_MODE_RELEASE_BUFFERS</c>, OpenSSL's
/// <c>SSL_CTX_set_mode(3)</c>). On Linux, <see cref="SslStream"/> keeps one read and one write buffer of ~17 KiB per
/// connection from the handshake to the close, and nothing in .NET sets the mode: measured with heaptrack at 1,000
/// fleet devices, those buffers were ~33 of the ~52 KiB of native memory each device's held connection cost the gateway
/// (docs/benchmarks.md, "Control plane: what a device costs"). With the mode, OpenSSL frees a buffer once it is empty and
/// allocates it again for the next record, as nginx and HAProxy run it.
/// <para>
/// .NET has no public way to reach the connection's <c>SSL*</c>, so this reads <see cref="SslStream"/>'s private
/// handle field (<c>_securityContext</c>, a <see cref="SafeHandle"/> around the <c>SSL*</c> on Unix) and calls
/// <c>SSL_ctrl</c> in the libssl the runtime already loaded (found with <c>RTLD_NOLOAD</c>, never loaded here, so it is
/// the same library). When any of that is missing (another runtime, another platform) nothing is changed and the
/// connection works as before; <c>OpenSslIdleBuffersTests</c> fails on a runtime where the field is gone.
/// </para>
/// </summary>
internal static partial class OpenSslIdleBuffers
{
    private const int SslCtrlMode = 33; // SSL_CTRL_MODE, ssl.h (OpenSSL 1.1 and 3)
    private const nint SslModeReleaseBuffers = 0x10; // SSL_MODE_RELEASE_BUFFERS
    private const int RtldLazy = 0x1;
    private const int RtldNoLoad = 0x4;

    private static readonly FieldInfo? HandleField = typeof(SslStream).GetField("_securityContext", BindingFlags.Instance | BindingFlags.NonPublic);
    private static readonly Lazy<SslCtrlFunction?> SslCtrl = new(FindSslCtrl);
    private static int _reported;

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate nint SslCtrlFunction(nint ssl, int command, nint larg, nint parg);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate nint DlopenFunction([MarshalAs(UnmanagedType.LPUTF8Str)] string file, int mode);

    /// <summary>
    /// Sets <c>SSL_MODE_RELEASE_BUFFERS</c> on <paramref name="stream"/>'s connection; the mode it has afterwards, or
    /// null when the connection's <c>SSL*</c> or libssl could not be reached (nothing changed).
    /// </summary>
    public static long? Release(SslStream stream) => Control(stream, SslModeReleaseBuffers);

    /// <summary>The connection's OpenSSL mode bits as they are (nothing set); null as for <see cref="Release"/>.</summary>
    internal static long? Mode(SslStream stream) => Control(stream, 0);

    private static long? Control(SslStream stream, nint addModes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!OperatingSystem.IsLinux() || HandleField?.GetValue(stream) is not SafeHandle handle || SslCtrl.Value is not { } sslCtrl)
        {
            return null;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var ssl = handle.DangerousGetHandle();
            // SSL_CTRL_MODE ORs larg into the mode and returns the result (SSL_set_mode / SSL_get_mode are this macro).
            return ssl == 0 ? null : sslCtrl(ssl, SslCtrlMode, addModes, 0);
        }
        catch (ObjectDisposedException)
        {
            return null; // the connection closed meanwhile
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Connection middleware for a listener, placed after <c>UseHttps</c>: the handshake is done and nothing has read
    /// or written application data yet, so the mode changes while no other thread uses the connection.
    /// </summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware(ILogger logger) => next => connection =>
    {
        if (connection.Features.Get<ISslStreamFeature>()?.SslStream is { } stream && Release(stream) is null
            && Interlocked.Exchange(ref _reported, 1) == 0)
        {
            LogUnavailable(logger);
        }

        return next(connection);
    };

    private static SslCtrlFunction? FindSslCtrl()
    {
        if (!NativeLibrary.TryLoad("libc.so.6", out var libc) || !NativeLibrary.TryGetExport(libc, "dlopen", out var dlopenAddress))
        {
            return null;
        }

        var dlopen = Marshal.GetDelegateForFunctionPointer<DlopenFunction>(dlopenAddress);
        // The sonames the runtime's OpenSSL shim tries, newest first; only one of them is loaded in a process.
        foreach (var name in (string[])["libssl.so.3", "libssl.so.1.1"])
        {
            var library = dlopen(name, RtldLazy | RtldNoLoad);
            if (library != 0 && NativeLibrary.TryGetExport(library, "SSL_ctrl", out var address))
            {
                return Marshal.GetDelegateForFunctionPointer<SslCtrlFunction>(address);
            }
        }

        return null;
    }

    [LoggerMessage(
        Level = LogLevel.Warning,
        Message = "TLS connections keep OpenSSL's record buffers (~33 KiB) while idle: this runtime's SslStream handle or libssl could not be reached")]
    private static partial void LogUnavailable(ILogger logger);
}
