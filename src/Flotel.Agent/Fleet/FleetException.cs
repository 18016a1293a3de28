namespace Flotel.Agent.Fleet;

/// <summary>A fleet step that cannot go on (enrolment refused, CA pin mismatch, unusable fleet files): <c>flotel agent</c> exits 1 with the message.</summary>
public sealed class FleetException : Exception
{
    public FleetException()
        : this("the fleet step failed")
    {
    }

    public FleetException(string message)
        : base(message)
    {
    }

    public FleetException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
