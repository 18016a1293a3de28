namespace Flotel.Gateway.Fleet;

/// <summary>A fleet or admin request that cannot be accepted as sent; its message is the answer's <c>error</c> (HTTP 400).</summary>
public class FleetRequestException : Exception
{
    public FleetRequestException(string message)
        : base(message)
    {
    }

    public FleetRequestException()
    {
    }

    public FleetRequestException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
