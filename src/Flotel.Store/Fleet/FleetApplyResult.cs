namespace Flotel.Store.Fleet;

/// <summary>What storing one object did.</summary>
public enum FleetApplyResult
{
    /// <summary>The object did not exist.</summary>
    Created,

    /// <summary>The object existed with other YAML.</summary>
    Configured,

    /// <summary>The object existed with the same YAML (its source may have been updated).</summary>
    Unchanged,
}
