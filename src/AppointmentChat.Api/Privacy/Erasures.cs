using System.Text.Json;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Stream;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Privacy;

/// <summary>
/// Runs an erasure's steps in order, each recorded done (with its count) as soon as it is, so that a repeated request or
/// the worker (<see cref="ErasureWorker"/>) after a crash or a Stream failure resumes with the first step not done. Every
/// step is one idempotent statement (or Stream call that is), so running one twice — two instances, a request and the
/// worker — changes nothing the second time.
/// </summary>
internal sealed partial class Erasures(ChatDbContext db, Unread.UnreadCounts unread, StreamChatClient stream, TimeProvider time, ILogger<Erasures> logger)
{
    public const string StreamUserStep = "stream-user";
    public const string NamesStep = "names";
    public const string PreviewsStep = "message-previews";
    public const string DevicesStep = "devices";
    public const string UnreadStep = "unread-counts";
    public const string PushesStep = "pushes";
    public const string WebhooksStep = "webhook-payloads";

    public static readonly string[] StepNames = [StreamUserStep, NamesStep, PreviewsStep, DevicesStep, UnreadStep, PushesStep, WebhooksStep];

    /// <summary>The title a push keeps once the name and words it carried are erased.</summary>
    public const string ErasedPushTitle = "Message";

    /// <summary>
    /// How long after an erasure completes its local steps run once more. Stream retries a webhook for about 15 s (its
    /// webhook documentation, "Performance and Error Handling"): an event it sent before the deletion can arrive after the
    /// erasure, and its processing bring back a preview, a push or a stored body. By then every such retry is in.
    /// </summary>
    public static readonly TimeSpan LateEventsDelay = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromMinutes(30);

    public Task<Erasure?> FindAsync(long id, CancellationToken cancellationToken) =>
        db.Erasures.AsNoTracking().FirstOrDefaultAsync(e => e.Id == id, cancellationToken);

    public Task<Erasure?> FindForUserAsync(string userId, CancellationToken cancellationToken) =>
        db.Erasures.AsNoTracking().FirstOrDefaultAsync(e => e.UserId == userId, cancellationToken);

    /// <summary>Records the erasure unless the user has one; either way returns the user's erasure.</summary>
    public async Task<Erasure> RecordAsync(Erasure erasure, CancellationToken cancellationToken)
    {
        if (await db.TryInsertErasureAsync(erasure, cancellationToken))
        {
            LogRequested(logger, erasure.UserId, erasure.RequestedBy, erasure.RequestedByRoles, erasure.StreamUser, erasure.StreamMessages);
        }

        return (await FindForUserAsync(erasure.UserId, cancellationToken))!;
    }

    public static string NoStepsDone() =>
        JsonSerializer.Serialize(StepNames.Select(n => new ErasureStep(n)).ToList(), PrivacyJsonContext.Default.IReadOnlyListErasureStep);

    /// <summary>Runs the steps not done yet; returns the erasure as it then stands (completed, or pending with its error).</summary>
    public async Task<Erasure> RunAsync(long id, CancellationToken cancellationToken)
    {
        var erasure = await db.Erasures.FirstAsync(e => e.Id == id, cancellationToken);
        if (erasure.Status == ErasureStatus.Completed)
        {
            return erasure;
        }

        var steps = JsonSerializer.Deserialize(erasure.Steps, PrivacyJsonContext.Default.IReadOnlyListErasureStep)!.ToList();
        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i].DoneAt is not null)
            {
                continue;
            }

            int count;
            try
            {
                count = await RunStepAsync(erasure, steps[i].Name, cancellationToken);
            }
            catch (Exception ex) when (ex is StreamApiException or StreamUnavailableException or DbUpdateException)
            {
                var now = time.GetUtcNow();
                erasure.Attempts++;
                erasure.LastError = Truncate($"{steps[i].Name}: {ex.Message}");
                erasure.NextAttemptAt = now + PollingWorker.Backoff(erasure.Attempts, FirstRetry, MaxRetry);
                await db.SaveChangesAsync(CancellationToken.None);
                LogStepFailed(logger, erasure.Id, steps[i].Name, ex.Message);
                return erasure;
            }

            steps[i] = steps[i] with { DoneAt = time.GetUtcNow(), Count = count };
            erasure.Steps = JsonSerializer.Serialize(steps, PrivacyJsonContext.Default.IReadOnlyListErasureStep);
            await db.SaveChangesAsync(CancellationToken.None); // durable per step: a crash after it resumes with the next
        }

        erasure.Status = ErasureStatus.Completed;
        erasure.CompletedAt = time.GetUtcNow();
        erasure.NextAttemptAt = erasure.CompletedAt + LateEventsDelay; // the local steps once more (SweepLateEventsAsync)
        erasure.LastError = null;
        await db.SaveChangesAsync(CancellationToken.None);
        var counts = string.Join(", ", steps.Select(s => $"{s.Name}={s.Count}"));
        LogCompleted(logger, erasure.Id, erasure.UserId, counts);
        return erasure;
    }

    private Task<int> RunStepAsync(Erasure erasure, string step, CancellationToken cancellationToken) => step switch
    {
        StreamUserStep => DeleteStreamUserAsync(erasure, cancellationToken),
        NamesStep => EraseNamesAsync(erasure.UserId, cancellationToken),
        PreviewsStep => ErasePreviewsAsync(erasure.UserId, cancellationToken),
        DevicesStep => db.Devices.Where(d => d.UserId == erasure.UserId).ExecuteDeleteAsync(cancellationToken),
        UnreadStep => unread.ForgetAsync(erasure.UserId, cancellationToken),
        PushesStep => ErasePushesAsync(erasure.UserId, cancellationToken),
        WebhooksStep => RedactWebhookPayloadsAsync(erasure, cancellationToken),
        _ => throw new InvalidOperationException($"Unknown erasure step {step}."),
    };

    /// <summary>
    /// The name is unset first, so that neither Stream's soft-deleted user nor the <c>user.deleted</c> event it sends (which
    /// carries the user) holds it; then the deletion with the request's options. 1 when Stream had the user, 0 when not.
    /// </summary>
    private async Task<int> DeleteStreamUserAsync(Erasure erasure, CancellationToken cancellationToken)
    {
        try
        {
            await stream.PartialUpdateUsersAsync([new UserPartialUpdate(erasure.UserId, Unset: ["name", "image"])], cancellationToken);
        }
        catch (StreamApiException ex) when (ex.MayBeMissingUser)
        {
            return 0; // never in Stream, or hard-deleted by an earlier attempt whose answer was lost
        }

        try
        {
            await stream.DeleteUserAsync(erasure.UserId, hardDelete: erasure.StreamUser == ErasureModes.Hard,
                markMessagesDeleted: erasure.StreamMessages != ErasureModes.Keep, cancellationToken);
            return 1;
        }
        catch (StreamApiException ex) when (ex.IsNotFound)
        {
            return 0;
        }
    }

    /// <summary>The chat user's row, and the names the user's appointments give them (the row's version moves: a writer holding the old one reads again).</summary>
    private async Task<int> EraseNamesAsync(string userId, CancellationToken cancellationToken)
    {
        var count = await db.ChatUsers.Where(u => u.Id == userId).ExecuteDeleteAsync(cancellationToken);
        count += await db.Appointments.Where(a => a.PetOwnerId == userId && a.PetOwnerName != null)
            .ExecuteUpdateAsync(set => set.SetProperty(a => a.PetOwnerName, (string?)null).SetProperty(a => a.Version, a => a.Version + 1), cancellationToken);
        count += await db.Appointments.Where(a => a.VetId == userId && a.VetName != null)
            .ExecuteUpdateAsync(set => set.SetProperty(a => a.VetName, (string?)null).SetProperty(a => a.Version, a => a.Version + 1), cancellationToken);
        return count;
    }

    /// <summary>
    /// The last-message preview of every chat the user is in: the mirror does not record whose the last message was, and a
    /// preview of someone else's answer may quote them; the next message brings a preview back.
    /// </summary>
    private Task<int> ErasePreviewsAsync(string userId, CancellationToken cancellationToken) =>
        db.Chats.Where(c => (EF.Property<string>(c, nameof(Appointment.PetOwnerId)) == userId || EF.Property<string>(c, nameof(Appointment.VetId)) == userId)
                && c.LastMessageText != null)
            .ExecuteUpdateAsync(set => set.SetProperty(c => c.LastMessageText, (string?)null).SetProperty(c => c.Version, c => c.Version + 1), cancellationToken);

    /// <summary>
    /// Pushes addressed to the user go, with their deliveries (which hold device tokens). Pushes to others in the user's
    /// appointments carry the user's name and words: their title and text are replaced.
    /// </summary>
    private async Task<int> ErasePushesAsync(string userId, CancellationToken cancellationToken)
    {
        var theirs = db.Notifications.Where(n => n.RecipientUserId == userId).Select(n => n.Id);
        var count = await db.PushDeliveries.Where(d => theirs.Contains(d.NotificationId)).ExecuteDeleteAsync(cancellationToken);
        count += await db.Notifications.Where(n => n.RecipientUserId == userId).ExecuteDeleteAsync(cancellationToken);
        var appointments = db.Appointments.Where(a => a.PetOwnerId == userId || a.VetId == userId).Select(a => a.Id);
        count += await db.Notifications.Where(n => appointments.Contains(n.AppointmentId) && (n.Title != ErasedPushTitle || n.Body != ""))
            .ExecuteUpdateAsync(set => set.SetProperty(n => n.Title, ErasedPushTitle).SetProperty(n => n.Body, ""), cancellationToken);
        return count;
    }

    /// <summary>
    /// Stored webhook bodies that name the user (their id as a JSON string) lose their body; the row stays (its type,
    /// channel and times) with a note. One still waiting to be processed is not processed: what it would bring back
    /// (a preview, a push) is what the erasure removes.
    /// </summary>
    private async Task<int> RedactWebhookPayloadsAsync(Erasure erasure, CancellationToken cancellationToken)
    {
        var needle = JsonSerializer.Serialize(erasure.UserId, PrivacyJsonContext.Default.String);
        var note = $"Body erased by privacy erasure {erasure.Id}.";
        // One not yet processed is settled here (its processing, if under way, keeps this record): ignored as of now, so
        // retention deletes it in time like any other.
        var count = await db.InboxEvents.Where(e => e.Payload.Contains(needle) && e.Status == InboxStatus.Pending)
            .ExecuteUpdateAsync(set => set.SetProperty(e => e.Payload, "{}").SetProperty(e => e.Note, note).SetProperty(e => e.Status, InboxStatus.Ignored)
                .SetProperty(e => e.ProcessedAt, time.GetUtcNow()), cancellationToken);
        count += await db.InboxEvents.Where(e => e.Payload.Contains(needle))
            .ExecuteUpdateAsync(set => set.SetProperty(e => e.Payload, "{}").SetProperty(e => e.Note, note), cancellationToken);
        return count;
    }

    private static string Truncate(string text) => text.Length > Erasure.MaxErrorLength ? text[..Erasure.MaxErrorLength] : text;

    /// <summary>
    /// A completed erasure's local steps once more, <see cref="LateEventsDelay"/> after it completed, for what events
    /// Stream delivered late brought back (each step is idempotent); the recorded steps and counts stay as they were.
    /// Returns how many rows it changed; nothing when the erasure is not due for it (not completed, or swept already).
    /// </summary>
    public async Task<int> SweepLateEventsAsync(long id, CancellationToken cancellationToken)
    {
        var erasure = await db.Erasures.FirstAsync(e => e.Id == id, cancellationToken);
        if (erasure.Status != ErasureStatus.Completed || erasure.NextAttemptAt is null)
        {
            return 0;
        }

        var count = 0;
        foreach (var step in StepNames.Where(s => s != StreamUserStep))
        {
            count += await RunStepAsync(erasure, step, cancellationToken);
        }

        erasure.NextAttemptAt = null;
        await db.SaveChangesAsync(CancellationToken.None);
        if (count > 0)
        {
            LogLateEvents(logger, erasure.Id, erasure.UserId, count);
        }

        return count;
    }

    [LoggerMessage(EventId = 7203, EventName = "ErasureLateEvents", Level = LogLevel.Information,
        Message = "Erasure {ErasureId} of user {UserId}: {Count} row(s) that events Stream delivered after it brought back erased again")]
    private static partial void LogLateEvents(ILogger logger, long erasureId, string userId, int count);

    [LoggerMessage(EventId = 7200, EventName = "ErasureRequested", Level = LogLevel.Information,
        Message = "Erasure of user {UserId} requested by {RequestedBy} ({Roles}): Stream user {StreamUser}, messages {StreamMessages}")]
    private static partial void LogRequested(ILogger logger, string userId, string requestedBy, string roles, string streamUser, string streamMessages);

    [LoggerMessage(EventId = 7201, EventName = "ErasureCompleted", Level = LogLevel.Information, Message = "Erasure {ErasureId} of user {UserId} completed: {Counts}")]
    private static partial void LogCompleted(ILogger logger, long erasureId, string userId, string counts);

    [LoggerMessage(EventId = 7202, EventName = "ErasureStepFailed", Level = LogLevel.Warning, Message = "Erasure {ErasureId} step {Step} failed, to be resumed: {Reason}")]
    private static partial void LogStepFailed(ILogger logger, long erasureId, string step, string reason);
}
