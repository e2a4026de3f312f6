using Xunit.Sdk;
using Xunit.v3;

[assembly: TestCollectionOrderer(typeof(AppointmentChat.Api.Tests.Infrastructure.LongestFirst))]

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// Starts the suite's longest test classes first, then the rest in xunit's own (random) order: a class that takes
/// minutes and starts last holds the whole run up by that much, while started first it runs beside everything else.
/// </summary>
public sealed class LongestFirst : ITestCollectionOrderer
{
    /// <summary>The classes of more than a minute, longest first (their durations in a clean-clone CI run).</summary>
    private static readonly string[] Longest =
    [
        "MorningRushOnPostgresTests", // ~10 min: 2,000 chats at Stream's paced 4 a second
        "MorningRushOnSqliteTests", // ~1.7 min
        "DurabilityTests",
        "StreamFaultTests",
        "LostWebhooksTestsOnPostgres",
        "LostWebhooksTestsOnSqlite",
    ];

    public IReadOnlyCollection<TTestCollection> OrderTestCollections<TTestCollection>(IReadOnlyCollection<TTestCollection> testCollections)
        where TTestCollection : ITestCollection
    {
        var shuffled = DefaultTestCollectionOrderer.Instance.OrderTestCollections(testCollections);
        return [.. shuffled.OrderBy(collection => Rank(collection))];
    }

    /// <summary>Its place among <see cref="Longest"/>, or after them; a class's collection is named "Test collection for {class} (id: …)".</summary>
    private static int Rank(ITestCollection collection)
    {
        var name = collection.TestCollectionDisplayName;
        for (var i = 0; i < Longest.Length; i++)
        {
            if (name.Contains("." + Longest[i] + " ", StringComparison.Ordinal) || name.EndsWith("." + Longest[i], StringComparison.Ordinal))
            {
                return i;
            }
        }

        return Longest.Length;
    }
}
