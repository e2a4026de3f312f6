using AppointmentChat.Api.Data;
using Microsoft.Extensions.DependencyInjection;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>Takes the service's own background workers out of a test's app, to drive their work by hand.</summary>
public static class Workers
{
    /// <summary>
    /// Removes the hosted services of these types: the service holds its own back until the database is migrated
    /// (<c>DatabaseStart.StartWorkersAfterMigration</c>), so they are looked for there. Fails when one is not found, so a
    /// test cannot go on believing a worker is off.
    /// </summary>
    public static void RemoveWorkers(this IServiceCollection services, params Type[] workers)
    {
        var heldBack = services.Select(d => d.ImplementationInstance).OfType<DatabaseStart.HeldBackServices>().Single().Descriptors;
        foreach (var worker in workers)
        {
            var removed = heldBack.RemoveAll(d => d.ImplementationType == worker);
            Assert.True(removed == 1, $"the service registers no background worker {worker.Name}");
        }
    }
}
