namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// Work a background worker gave up on, by id, as operators act on it (<c>/api/operator</c>): listed newest first,
/// queued again with its attempts counted afresh, or discarded. Each feature keeps its own kind (dead webhooks,
/// given-up pushes, given-up transcript callbacks) and its writes; a retry or discard of an item that is no longer
/// given up answers null.
/// </summary>
internal interface IGivenUpWork<TItem> where TItem : class
{
    Task<List<TItem>> ListAsync(int take, CancellationToken cancellationToken);

    Task<TItem?> RetryAsync(long id, CancellationToken cancellationToken);

    Task<TItem?> DiscardAsync(long id, CancellationToken cancellationToken);

    /// <summary>The item's last error, which the operator audit keeps with the action.</summary>
    static abstract string? ErrorOf(TItem item);
}
