using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Data;

/// <summary>
/// Inserts that meet an existing row without an exception (<c>INSERT … ON CONFLICT</c>, which SQLite and
/// PostgreSQL both speak): concurrent writers of the same key are normal here (Stream's retries, several
/// instances), so they must not cost an exception and an error log each.
/// </summary>
internal static class Upserts
{
    /// <summary>Records users as upserted to Stream (name, pushed name, when), creating or updating each.</summary>
    public static async Task UpsertChatUserAsync(this ChatDbContext db, string id, string? name, string? pushedName, DateTimeOffset syncedAt, CancellationToken cancellationToken)
    {
        var at = db.Stored<Channels.ChatUser>(nameof(Channels.ChatUser.SyncedAt), syncedAt);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO chat_users ("Id", "Name", "PushedName", "SyncedAt", "UpdatedAt")
            VALUES ({id}, {name}, {pushedName}, {at}, {at})
            ON CONFLICT ("Id") DO UPDATE SET
                "Name" = COALESCE(excluded."Name", chat_users."Name"),
                "PushedName" = excluded."PushedName",
                "SyncedAt" = excluded."SyncedAt",
                "UpdatedAt" = excluded."UpdatedAt"
            """, cancellationToken);
    }

    /// <summary>
    /// Records the display name Stream reports for a user (user.updated): creates the user, known to Stream, or
    /// renames it. One statement, so a concurrent first record of the same user (a chat being opened, another
    /// instance) meets it without a duplicate-key error.
    /// </summary>
    public static async Task RecordReportedNameAsync(this ChatDbContext db, string id, string? name, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var stored = db.Stored<Channels.ChatUser>(nameof(Channels.ChatUser.UpdatedAt), at);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO chat_users ("Id", "Name", "SyncedAt", "UpdatedAt")
            VALUES ({id}, {name}, {stored}, {stored})
            ON CONFLICT ("Id") DO UPDATE SET "Name" = excluded."Name", "UpdatedAt" = excluded."UpdatedAt"
            WHERE chat_users."Name" IS DISTINCT FROM excluded."Name"
            """, cancellationToken);
    }

    /// <summary>Inserts a new appointment unless one with its id exists (a concurrent first push): true when this call inserted it.</summary>
    public static async Task<bool> TryInsertAppointmentAsync(this ChatDbContext db, Appointments.Appointment a, CancellationToken cancellationToken)
    {
        var startsAt = db.Stored<Appointments.Appointment>(nameof(Appointments.Appointment.StartsAt), a.StartsAt);
        var status = db.Stored<Appointments.Appointment>(nameof(Appointments.Appointment.Status), a.Status);
        var created = db.Stored<Appointments.Appointment>(nameof(Appointments.Appointment.CreatedAt), a.CreatedAt);
        var updated = db.Stored<Appointments.Appointment>(nameof(Appointments.Appointment.UpdatedAt), a.UpdatedAt);
        return await db.Database.ExecuteSqlAsync($"""
            INSERT INTO appointments ("Id", "PetOwnerId", "PetOwnerName", "PetName", "VetId", "VetName", "OrganisationId", "StartsAt",
                "DurationMinutes", "Status", "ChatActivationMinutes", "ChatFrozen", "ChatSyncAttempts", "Version", "CreatedAt", "UpdatedAt")
            VALUES ({a.Id}, {a.PetOwnerId}, {a.PetOwnerName}, {a.PetName}, {a.VetId}, {a.VetName}, {a.OrganisationId}, {startsAt},
                {a.DurationMinutes}, {status}, {a.ChatActivationMinutes}, {false}, {0}, {0}, {created}, {updated})
            ON CONFLICT ("Id") DO NOTHING
            """, cancellationToken) == 1;
    }

    /// <summary>
    /// Registers a device token for a user, taking it over from whoever had it. Returns whether this call made it the
    /// user's (a new token, or one taken over): of concurrent registrations by one user exactly one is told so, as
    /// each step is a single conditional statement that only one of them can match.
    /// </summary>
    public static async Task<bool> UpsertDeviceAsync(this ChatDbContext db, string token, string userId, Notifications.DevicePlatform platform, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var stored = db.Stored<Notifications.Device>(nameof(Notifications.Device.UpdatedAt), at);
        var kind = db.Stored<Notifications.Device>(nameof(Notifications.Device.Platform), platform);
        while (true)
        {
            var inserted = await db.Database.ExecuteSqlAsync($"""
                INSERT INTO devices ("Token", "UserId", "Platform", "CreatedAt", "UpdatedAt")
                VALUES ({token}, {userId}, {kind}, {stored}, {stored})
                ON CONFLICT ("Token") DO NOTHING
                """, cancellationToken);
            if (inserted == 1)
            {
                return true;
            }

            var takenOver = await db.Database.ExecuteSqlAsync($"""
                UPDATE devices SET "UserId" = {userId}, "Platform" = {kind}, "UpdatedAt" = {stored}
                WHERE "Token" = {token} AND "UserId" <> {userId}
                """, cancellationToken);
            if (takenOver == 1)
            {
                return true;
            }

            var refreshed = await db.Database.ExecuteSqlAsync($"""
                UPDATE devices SET "Platform" = {kind}, "UpdatedAt" = {stored}
                WHERE "Token" = {token} AND "UserId" = {userId}
                """, cancellationToken);
            if (refreshed == 1)
            {
                return false;
            }

            // Removed between the statements: register it afresh.
        }
    }

    /// <summary>
    /// Sets the last message of many chats in one statement (<c>UPDATE … FROM (VALUES …)</c>, which SQLite and
    /// PostgreSQL both speak). A chat whose stored last message is newer keeps it: deliveries can come out of order.
    /// </summary>
    public static async Task SetLastMessagesAsync(this ChatDbContext db, IReadOnlyCollection<LastMessage> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
        {
            return;
        }

        var values = new System.Text.StringBuilder();
        var parameters = new List<object?>(messages.Count * 4);
        foreach (var m in messages)
        {
            var n = parameters.Count;
            values.Append(values.Length == 0 ? "" : ", ").Append(System.Globalization.CultureInfo.InvariantCulture, $"({{{n}}}, {{{n + 1}}}, {{{n + 2}}}, {{{n + 3}}})");
            parameters.AddRange([m.ChannelId, m.MessageId, m.Preview, db.Stored<Appointments.Appointment>(nameof(Appointments.Appointment.LastMessageAt), m.At)]);
        }

        // VALUES columns are column1… on both databases.
        var sql = $"""
            UPDATE appointments SET
                "LastMessageId" = v.column2,
                "LastMessageText" = v.column3,
                "LastMessageAt" = v.column4,
                "LastActivityAt" = CASE WHEN appointments."LastActivityAt" > v.column4 THEN appointments."LastActivityAt" ELSE v.column4 END
            FROM (VALUES {values}) AS v
            WHERE appointments."ChannelId" = v.column1
              AND (appointments."LastMessageAt" IS NULL OR appointments."LastMessageAt" <= v.column4)
            """;
        await db.Database.ExecuteSqlRawAsync(sql, parameters!, cancellationToken);
    }

    /// <summary>
    /// Queues pushes in one statement, skipping any whose key is already queued (<c>ON CONFLICT DO NOTHING</c>): the
    /// same message can arrive in more than one event, and that is no error.
    /// </summary>
    public static async Task InsertNotificationsAsync(this ChatDbContext db, IReadOnlyList<Notifications.Notification> notifications, CancellationToken cancellationToken)
    {
        const int rowsPerStatement = 500;
        for (var start = 0; start < notifications.Count; start += rowsPerStatement)
        {
            var values = new System.Text.StringBuilder();
            var parameters = new List<object?>();
            foreach (var n in notifications.Skip(start).Take(rowsPerStatement))
            {
                var p = parameters.Count;
                values.Append(values.Length == 0 ? "" : ", ").Append(System.Globalization.CultureInfo.InvariantCulture,
                    $"({{{p}}}, {{{p + 1}}}, {{{p + 2}}}, {{{p + 3}}}, {{{p + 4}}}, {{{p + 5}}}, {{{p + 6}}}, {{{p + 7}}}, 0, {{{p + 8}}}, {{{p + 9}}})");
                parameters.AddRange([
                    n.DedupKey, n.RecipientUserId, n.Title, n.Body, n.AppointmentId, n.ChannelId, n.MessageId,
                    db.Stored<Notifications.Notification>(nameof(Notifications.Notification.Status), n.Status),
                    db.Stored<Notifications.Notification>(nameof(Notifications.Notification.NextAttemptAt), n.NextAttemptAt),
                    db.Stored<Notifications.Notification>(nameof(Notifications.Notification.CreatedAt), n.CreatedAt)]);
            }

            var sql = $"""
                INSERT INTO notification_outbox ("DedupKey", "RecipientUserId", "Title", "Body", "AppointmentId", "ChannelId", "MessageId", "Status", "Attempts", "NextAttemptAt", "CreatedAt")
                VALUES {values}
                ON CONFLICT ("DedupKey") DO NOTHING
                """;
            await db.Database.ExecuteSqlRawAsync(sql, parameters!, cancellationToken);
        }
    }

    /// <summary>A value as the provider stores it (e.g. an instant as Unix milliseconds on SQLite, an enum as its name).</summary>
    private static object? Stored<TEntity>(this ChatDbContext db, string property, object? value) =>
        db.Model.FindEntityType(typeof(TEntity))!.FindProperty(property)!.GetTypeMapping().Converter is { } converter
            ? converter.ConvertToProvider(value)
            : value;
}

/// <summary>A chat's newest message, for the chat list.</summary>
internal sealed record LastMessage(string ChannelId, string MessageId, string Preview, DateTimeOffset At);
