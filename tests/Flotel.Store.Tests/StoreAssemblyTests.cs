using System.Reflection;

namespace Flotel.Store.Tests;

/// <summary>Storage and the query engines never see HTTP (architecture §2): the assembly references no web stack.</summary>
public sealed class StoreAssemblyTests
{
    [Fact]
    public void StoreAssembly_ReferencesNeitherAspNetCoreNorTheGateway()
    {
        AssemblyName[] references = typeof(StoreAssembly).Assembly.GetReferencedAssemblies();

        Assert.Equal(StoreAssembly.Name, typeof(StoreAssembly).Assembly.GetName().Name);
        Assert.DoesNotContain(references, r => r.Name!.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.Name!.StartsWith("Microsoft.Extensions.Hosting", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.Name == "Flotel.Gateway");
        Assert.Contains(references, r => r.Name == "Microsoft.Data.Sqlite");
    }
}
