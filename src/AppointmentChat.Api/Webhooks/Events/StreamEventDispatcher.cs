namespace AppointmentChat.Api.Webhooks.Events;

/// <summary>
/// What each Stream event means for the service, by its type: the channel mirror behind the chat list, the outbox of
/// push notifications, the cache of display names. Hands each event to its type's handler; events of other types are
/// ignored.
/// </summary>
internal sealed class StreamEventDispatcher(EventBatch batch, IEnumerable<IStreamEventHandler> handlers)
{
    private readonly Dictionary<string, IStreamEventHandler> _byType = handlers
        .SelectMany(h => h.EventTypes, (handler, type) => (handler, type))
        .ToDictionary(h => h.type, h => h.handler, StringComparer.Ordinal);

    /// <inheritdoc cref="EventBatch.BeginAsync"/>
    public Task BeginBatchAsync(IReadOnlyList<InboxEvent> events, CancellationToken cancellationToken) => batch.BeginAsync(events, cancellationToken);

    /// <inheritdoc cref="EventBatch.FlushAsync"/>
    public Task FlushAsync(CancellationToken cancellationToken) => batch.FlushAsync(cancellationToken);

    /// <inheritdoc cref="EventBatch.DiscardDeferred"/>
    public void DiscardDeferred() => batch.DiscardDeferred();

    public async Task<EventOutcome> HandleAsync(InboxEvent inbox, CancellationToken cancellationToken)
    {
        // Only new messages defer writes; every other event sees them written first.
        if (inbox.EventType != MessageNewHandler.EventType)
        {
            await batch.FlushAsync(cancellationToken);
        }

        var streamEvent = StreamEvent.Parse(inbox.Payload);
        return _byType.TryGetValue(inbox.EventType, out var handler)
            ? await handler.HandleAsync(inbox.EventType, streamEvent, cancellationToken)
            : EventOutcome.Ignore($"'{inbox.EventType}' events are not used");
    }
}

internal static class StreamEventHandlers
{
    /// <summary>The dispatcher and one handler per event type, per scope (they share the scope's batch).</summary>
    public static IServiceCollection AddStreamEventHandlers(this IServiceCollection services)
    {
        services.AddScoped<EventBatch>();
        services.AddScoped<MessageNewHandler>(); // the catch-up pass records the messages it finds through it too
        services.AddScoped<IStreamEventHandler>(sp => sp.GetRequiredService<MessageNewHandler>());
        services.AddScoped<IStreamEventHandler, MessageChangedHandler>();
        services.AddScoped<IStreamEventHandler, ChannelUpdatedHandler>();
        services.AddScoped<IStreamEventHandler, ChannelDeletedHandler>();
        services.AddScoped<IStreamEventHandler, UserUpdatedHandler>();
        services.AddScoped<IStreamEventHandler, ReadStateHandler>();
        services.AddScoped<Unread.UnreadCounts>();
        services.AddScoped<StreamEventDispatcher>();
        return services;
    }
}
