using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AppointmentChat.Api.Channels;

/// <summary>Where chat users are kept, and their upserts (concurrent writers of one user meet without an exception).</summary>
internal static class ChatUsersModel
{
    extension(ChatDbContext db)
    {
        public DbSet<ChatUser> ChatUsers => db.Set<ChatUser>();
    }

    /// <summary>
    /// Records a user as sent to Stream (when, and their name as Stream now has it), creating or updating them. The name
    /// stays the one given latest (<see cref="ChatUser.NamedAt"/>) when another request recorded a newer one meanwhile.
    /// </summary>
    public static async Task UpsertChatUserAsync(this ChatDbContext db, NamedUser user, DateTimeOffset syncedAt, CancellationToken cancellationToken)
    {
        var at = db.Stored<ChatUser>(nameof(ChatUser.SyncedAt), syncedAt);
        var namedAt = db.Stored<ChatUser>(nameof(ChatUser.NamedAt), user.NamedAt);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO chat_users ("Id", "Name", "PushedName", "NamedAt", "SyncedAt", "UpdatedAt")
            VALUES ({user.Id}, {user.Name}, {user.Name}, {namedAt}, {at}, {at})
            ON CONFLICT ("Id") DO UPDATE SET
                "Name" = CASE WHEN chat_users."NamedAt" IS NULL OR chat_users."NamedAt" <= excluded."NamedAt"
                    THEN COALESCE(excluded."Name", chat_users."Name") ELSE chat_users."Name" END,
                "PushedName" = excluded."PushedName",
                "NamedAt" = CASE WHEN chat_users."NamedAt" IS NULL OR chat_users."NamedAt" <= excluded."NamedAt"
                    THEN excluded."NamedAt" ELSE chat_users."NamedAt" END,
                "SyncedAt" = excluded."SyncedAt",
                "UpdatedAt" = excluded."UpdatedAt"
            """, cancellationToken);
    }

    /// <summary>
    /// Records the name Stream reports for a user (<c>user.updated</c>). A user the practice named keeps the practice's
    /// name — the one the chat list and pushes show —, whoever renamed them in Stream; what Stream has now is noted
    /// (<see cref="ChatUser.PushedName"/>), so that the practice's name is put back there
    /// (<see cref="ChatUsersInStream.RestorePracticeNamesAsync"/>). A user the practice never named takes Stream's name.
    /// One statement, so a concurrent first record of the same user (a chat being opened, another instance) meets it
    /// without a duplicate-key error. A nameless user is never created: it adds nothing, and the row may be one an erasure
    /// (Privacy) is deleting — it unsets the name in Stream first, and the event that sends arrives while it deletes.
    /// </summary>
    public static async Task<bool> RecordReportedNameAsync(this ChatDbContext db, string id, string? name, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var stored = db.Stored<ChatUser>(nameof(ChatUser.UpdatedAt), at);
        if (name is null)
        {
            await db.Database.ExecuteSqlAsync($"""
                UPDATE chat_users SET
                    "Name" = CASE WHEN "PushedName" IS NULL THEN NULL ELSE "Name" END,
                    "PushedName" = NULL,
                    "UpdatedAt" = {stored}
                WHERE "Id" = {id} AND ("PushedName" IS NOT NULL OR "Name" IS NOT NULL)
                """, cancellationToken);
            return false;
        }

        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO chat_users ("Id", "Name", "SyncedAt", "UpdatedAt")
            VALUES ({id}, {name}, {stored}, {stored})
            ON CONFLICT ("Id") DO UPDATE SET
                "Name" = CASE WHEN chat_users."PushedName" IS NULL THEN excluded."Name" ELSE chat_users."Name" END,
                "PushedName" = CASE WHEN chat_users."PushedName" IS NULL THEN NULL ELSE excluded."Name" END,
                "UpdatedAt" = excluded."UpdatedAt"
            WHERE (chat_users."PushedName" IS NULL AND chat_users."Name" IS DISTINCT FROM excluded."Name")
                OR (chat_users."PushedName" IS NOT NULL AND chat_users."PushedName" IS DISTINCT FROM excluded."Name")
            """, cancellationToken);
        return await db.ChatUsers.AnyAsync(u => u.Id == id && u.PushedName != null && u.Name != null && u.PushedName != u.Name, cancellationToken);
    }
}

internal sealed class ChatUserConfiguration : IEntityTypeConfiguration<ChatUser>
{
    public void Configure(EntityTypeBuilder<ChatUser> builder)
    {
        builder.ToTable("chat_users");
        builder.HasKey(u => u.Id);
        builder.Property(u => u.Id).HasMaxLength(64);
        builder.Property(u => u.Name).HasMaxLength(Appointments.Appointment.MaxNameLength);
        builder.Property(u => u.PushedName).HasMaxLength(Appointments.Appointment.MaxNameLength);
    }
}
