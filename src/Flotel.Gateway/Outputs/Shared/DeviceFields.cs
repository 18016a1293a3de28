using Flotel.Model.Logs;

namespace Flotel.Gateway.Outputs.Shared;

/// <summary>
/// The identity rule for logs (docs/fleet.md §6): an event whose queue record names a device (it arrived with a device
/// certificate of the fleet CA) gets <c>device_id</c>, <c>host</c> and <c>logsource</c> from the certificate's CN,
/// whatever the sender wrote there, so a device cannot write as another one. <c>structured_data</c> stays as sent: it
/// is the sender's own text, not an identity field of the schema (architecture §5).
/// </summary>
public static class DeviceFields
{
    /// <summary>Overwrites the identity fields of <paramref name="logEvent"/> when <paramref name="device"/> is set.</summary>
    public static void Apply(LogEvent logEvent, string? device)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        if (device is null)
        {
            return;
        }

        logEvent.DeviceId = device;
        logEvent.Host = device;
        logEvent.LogSource = device;
    }
}
