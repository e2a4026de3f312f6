using System.Text.Json.Nodes;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Stream;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Channels;

/// <summary>
/// The chat's people as Stream users: created when new to Stream, renamed (their name alone) when the PMS renames them,
/// and made again when Stream no longer has them. Remembered in <see cref="ChatUser"/>, so Stream is not written for
/// nothing (Stream allows 300 user updates a minute per app).
/// </summary>
internal sealed partial class ChatUsersInStream(ChatDbContext db, StreamChatClient stream, TimeProvider time, ILogger<ChatUsersInStream> logger)
{
    /// <summary>
    /// Makes sure Stream has <paramref name="users"/>, then runs <paramref name="write"/>, which names them. Should Stream
    /// refuse it and, looked up, lack some of them — deleted in Stream's dashboard, the service switched to another Stream
    /// app, the emulator reset — what the service remembered of them is wrong: it is forgotten, they are upserted again,
    /// and the write is tried once more. Decided by Stream's error code and a look-up, never by an error's wording.
    /// </summary>
    /// <param name="users">Each with the name the practice gave and when (the write time of the appointment it came from).</param>
    public async Task<T> WithUsersAsync<T>(IReadOnlyList<NamedUser> users, Func<Task<T>> write, CancellationToken cancellationToken)
    {
        await SyncUsersAsync(users, cancellationToken);
        try
        {
            return await write();
        }
        catch (StreamApiException refused) when (refused.MayBeMissingUser)
        {
            var existing = await stream.ExistingUserIdsAsync([.. users.Select(u => u.Id).Distinct()], cancellationToken);
            var missing = users.Where(u => !existing.Contains(u.Id)).ToList();
            if (missing.Count == 0)
            {
                throw;
            }

            LogUsersMissing(logger, missing.Count, refused.Operation);
            var missingIds = missing.Select(u => u.Id).ToList();
            await db.ChatUsers.Where(u => missingIds.Contains(u.Id))
                .ExecuteUpdateAsync(set => set.SetProperty(u => u.SyncedAt, (DateTimeOffset?)null), cancellationToken);
            await SyncUsersAsync(missing, cancellationToken);
            return await write();
        }
    }

    /// <summary>
    /// Brings Stream the users it has not been given yet, or whose name the PMS changed, and remembers them. A user Stream
    /// lacks is created (upsert); one it has — perhaps made by the app's own connect, with an image or other fields the app
    /// set — only gets its name set (partial update), because an upsert replaces every field of a user
    /// (stream-chat-go docs/init_and_users/update_users.md). Which users Stream has is looked up, not guessed. A name from
    /// an appointment written before the one that last named the person is not the practice's current name: it neither
    /// renames them nor is recorded.
    /// </summary>
    private async Task SyncUsersAsync(IReadOnlyList<NamedUser> users, CancellationToken cancellationToken)
    {
        var ids = users.Select(u => u.Id).ToList();
        var known = await db.ChatUsers.AsNoTracking().Where(u => ids.Contains(u.Id)).ToDictionaryAsync(u => u.Id, cancellationToken);
        var stale = new List<NamedUser>();
        foreach (var user in users)
        {
            var had = known.GetValueOrDefault(user.Id);
            var newest = had?.NamedAt is not { } namedAt || user.NamedAt >= namedAt;
            var name = newest ? user.Name ?? had?.Name : had!.Name ?? user.Name;
            if (had?.SyncedAt is null || (newest && user.Name is not null && had.PushedName != user.Name))
            {
                stale.Add(new NamedUser(user.Id, name, newest ? user.NamedAt : had!.NamedAt!.Value));
            }
        }

        if (stale.Count == 0)
        {
            return;
        }

        var inStream = new HashSet<string>(StringComparer.Ordinal);
        foreach (var page in stale.Select(u => u.Id).Distinct().Chunk(100))
        {
            inStream.UnionWith(await stream.ExistingUserIdsAsync(page, cancellationToken));
        }

        var created = stale.Where(u => !inStream.Contains(u.Id)).ToList();
        if (created.Count > 0)
        {
            await stream.UpsertUsersAsync(created.Select(u => new StreamUser(u.Id, u.Name)), cancellationToken);
        }

        var renamed = stale.Where(u => inStream.Contains(u.Id) && u.Name is not null).ToList();
        if (renamed.Count > 0)
        {
            // The practice's new name is theirs before Stream hears it: Stream's report of this very rename, arriving
            // before it is recorded below, is then not taken for someone else's (RestorePracticeNamesAsync).
            foreach (var user in renamed)
            {
                await db.ChatUsers.Where(u => u.Id == user.Id && (u.NamedAt == null || u.NamedAt <= user.NamedAt))
                    .ExecuteUpdateAsync(set => set.SetProperty(u => u.Name, user.Name), cancellationToken);
            }

            await stream.PartialUpdateUsersAsync([.. renamed.Select(u => new UserPartialUpdate(u.Id, new Dictionary<string, JsonNode?> { ["name"] = u.Name }))], cancellationToken);
        }

        var now = time.GetUtcNow();
        foreach (var user in stale)
        {
            await db.UpsertChatUserAsync(user, now, cancellationToken);
        }
    }

    /// <summary>
    /// Puts back the practice's name of users renamed in Stream by someone else — a pet owner, with their own token, calling
    /// themselves "Veterinary practice — URGENT": a name the PMS set is the one the clinic and the pushes show, and the one
    /// Stream shows the other side. Stream's report of the rename (<c>user.updated</c>) left the practice's name in place
    /// and noted what Stream has now (<see cref="ChatUsersModel.RecordReportedNameAsync"/>); a batch at a time.
    /// </summary>
    public async Task<int> RestorePracticeNamesAsync(CancellationToken cancellationToken)
    {
        var renamed = await db.ChatUsers.AsNoTracking()
            .Where(u => u.SyncedAt != null && u.PushedName != null && u.Name != null && u.PushedName != u.Name)
            .OrderBy(u => u.UpdatedAt)
            .Take(RestoreBatch)
            .Select(u => new { u.Id, u.Name, u.PushedName })
            .ToListAsync(cancellationToken);
        foreach (var user in renamed)
        {
            try
            {
                await stream.PartialUpdateUsersAsync([new UserPartialUpdate(user.Id, new Dictionary<string, JsonNode?> { ["name"] = user.Name })], cancellationToken);
            }
            catch (StreamApiException refused) when (refused.MayBeMissingUser)
            {
                // Gone from Stream: it is made again, with the practice's name, the next time a chat needs it.
                await db.ChatUsers.Where(u => u.Id == user.Id).ExecuteUpdateAsync(set => set.SetProperty(u => u.SyncedAt, (DateTimeOffset?)null), cancellationToken);
                continue;
            }

            // Unless Stream reported yet another name meanwhile: then the next pass puts it back again.
            await db.ChatUsers.Where(u => u.Id == user.Id && u.PushedName == user.PushedName)
                .ExecuteUpdateAsync(set => set.SetProperty(u => u.PushedName, user.Name), cancellationToken);
            LogNameRestored(logger, user.Id);
        }

        return renamed.Count;
    }

    private const int RestoreBatch = 20;

    [LoggerMessage(Level = LogLevel.Warning, Message = "User {UserId} was renamed in Stream by someone other than the practice; the practice's name is put back")]
    private static partial void LogNameRestored(ILogger logger, string userId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream refused {Operation} and no longer had {Count} of its user(s); upserted them again and retried")]
    private static partial void LogUsersMissing(ILogger logger, int count, string operation);
}

/// <summary>A chat user with the name the practice gave them at <paramref name="NamedAt"/>.</summary>
internal readonly record struct NamedUser(string Id, string? Name, DateTimeOffset NamedAt);
