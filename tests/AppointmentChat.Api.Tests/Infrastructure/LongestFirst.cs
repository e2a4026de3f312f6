using Xunit.Sdk;
using Xunit.v3;

[assembly: Xunit.TestCollectionOrderer(typeof(AppointmentChat.Api.Tests.Infrastructure.LongestFirst))]

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// Starts the morning rush first: it runs for about eleven minutes, mostly waiting for paced turns, and started late it
/// alone made the whole run that much longer; started first, the rest of the suite runs beside it. Every other test
/// collection keeps xunit's order.
/// </summary>
public sealed class LongestFirst : ITestCollectionOrderer
{
    public IReadOnlyCollection<TTestCollection> OrderTestCollections<TTestCollection>(IReadOnlyCollection<TTestCollection> testCollections)
        where TTestCollection : notnull, ITestCollection =>
        [.. testCollections.OrderBy(c => c.TestCollectionDisplayName.Contains("MorningRushTests", StringComparison.Ordinal) ? 0 : 1)];
}
