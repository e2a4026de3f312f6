namespace AppointmentChat.Api.Data;

/// <summary>
/// An instant whose order among instants of one millisecond matters, so SQLite keeps it to the tick (100 ns, as .NET
/// ticks since year 1) rather than to the millisecond (Unix milliseconds) of every other instant. PostgreSQL keeps
/// microseconds of every instant, as Stream's times have them (<c>"2020-01-10T07:26:46.791232Z"</c>, stream-chat-go
/// docs/channels/query_channels.md), so there it changes nothing. Raw SQL that compares such a
/// column with another instant column must convert each value as its own column stores it (<see cref="StoredValues.Stored{TEntity}"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class KeptToTheTickAttribute : Attribute;
