namespace AppointmentChat.Api.Webhooks.Events;

/// <summary>
/// What one kind of Stream event means for the service. Runs inside the inbox transaction; a malformed event throws
/// (and is retried, then parked), an event of no interest is ignored.
/// </summary>
internal interface IStreamEventHandler
{
    /// <summary>The event types (the webhook's <c>type</c>) it handles.</summary>
    IReadOnlyList<string> EventTypes { get; }

    Task<EventOutcome> HandleAsync(string eventType, StreamEvent streamEvent, CancellationToken cancellationToken);
}

/// <summary>What processing an event came to.</summary>
internal sealed record EventOutcome(bool Ignored, string? Note, int Notifications = 0)
{
    public static readonly EventOutcome Done = new(false, null);

    public static readonly EventOutcome NotAnAppointmentChannel = Ignore("not an appointment channel");

    public static readonly EventOutcome UnknownChannel = Ignore("a channel the service does not know");

    public static EventOutcome Ignore(string why) => new(true, why);
}
