namespace AppointmentChat.Api.Stream;

/// <summary>
/// Stream's rate limits as the service plans around them. Stream counts each endpoint per app and platform, per minute
/// and per second (the per-minute limit divided by 30), and answers 429 code 9 past either (stream-chat-go
/// docs/debugging_and_cli/rate_limits.md, the table of default limits; api_errors_response.md for the code). A plan with
/// other limits sets them in <see cref="StreamOptions.RateLimits"/>.
/// </summary>
internal static class StreamRateLimits
{
    /// <summary>
    /// The limit a call of ours counts against, by Stream's endpoint name. The partial channel update is not in Stream's
    /// table: it is counted against Update Channel, the stricter reading.
    /// </summary>
    public static string EndpointOf(string operation) => operation switch
    {
        "UpsertUsers" => "UpdateUsers",
        "PartialUpdateUsers" => "UpdateUsersPartial",
        "PartialUpdateChannel" => "UpdateChannel",
        "QueryChannelMessages" => "GetOrCreateChannel",
        _ => operation, // GetApp, QueryUsers, GetOrCreateChannel, UpdateChannel, SendMessage, QueryChannels, DeleteChannel
    };

    /// <summary>The documented default per minute.</summary>
    public static int DocumentedPerMinute(string endpoint) => endpoint switch
    {
        "GetApp" or "GetOrCreateChannel" or "QueryChannels" => 10_000,
        "QueryUsers" or "SendMessage" => 1_000,
        "UpdateChannel" or "UpdateUsers" or "UpdateUsersPartial" => 300,
        _ => 60, // Delete Channel, and the smallest limit for anything not in the table
    };
}

/// <summary>
/// Waits for a turn to call Stream, so that calls spread over time stay inside Stream's limits; the turns are shared by
/// every instance of the service.
/// </summary>
internal interface IStreamTurns
{
    /// <summary>Returns once a call to <paramref name="endpoint"/> (see <see cref="StreamRateLimits.EndpointOf"/>) may go.</summary>
    Task WaitTurnAsync(string endpoint, CancellationToken cancellationToken);
}

/// <summary>
/// Whether the Stream calls made in this scope wait for turns. Calls made for a request go at once (someone is waiting
/// for the answer, and they are few); a worker that makes calls in bulk — the scheduler at a busy hour, the catch-up
/// pass — gives its scope turns.
/// </summary>
internal sealed class StreamPacing
{
    public IStreamTurns? Turns { get; private set; }

    public void Use(IStreamTurns turns) => Turns = turns;
}
