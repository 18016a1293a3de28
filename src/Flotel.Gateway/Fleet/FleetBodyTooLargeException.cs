using System.Globalization;

namespace Flotel.Gateway.Fleet;

/// <summary>A request body over its route's bound (HTTP 413).</summary>
public sealed class FleetBodyTooLargeException : FleetRequestException
{
    public FleetBodyTooLargeException(int maxBytes)
        : base(string.Create(CultureInfo.InvariantCulture, $"the body is larger than {maxBytes} bytes"))
    {
    }
}
