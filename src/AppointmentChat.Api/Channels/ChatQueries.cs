using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Unread;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Channels;

/// <summary>
/// Opening a chat and listing chats as EF Core queries: the plain path, on every database. Where a measured fast
/// path is registered (PostgreSQL's <see cref="PostgresChatReads"/>), it serves instead and answers exactly as these do.
/// </summary>
internal sealed class ChatQueries(ChatDbContext db) : IChatReads
{
    public Task<ChatFactsRow?> FindChatFactsAsync(string appointmentId, CancellationToken cancellationToken) =>
        db.Chats.AsNoTracking()
            .Where(c => c.AppointmentId == appointmentId)
            .Select(c => new ChatFactsRow(
                c.AppointmentId,
                c.Appointment.PetOwnerId,
                c.Appointment.VetId,
                c.Appointment.OrganisationId,
                c.Appointment.StartsAt,
                c.Appointment.DurationMinutes,
                c.Appointment.ChatActivationMinutes,
                EnumNames<AppointmentStatus>.ToName(c.Appointment.Status),
                c.ChannelId,
                c.Status == null ? null : EnumNames<ChatStatus>.ToName(c.Status.Value),
                c.Version,
                c.Appointment.TimeZone))
            .FirstOrDefaultAsync(cancellationToken);

    public async Task<List<ChatListRow>> ListAsync(ChatMembership membership, string memberId, string? status, ListPosition? after, int take, string readerId, bool unreadOnly, CancellationToken cancellationToken)
    {
        if (membership == ChatMembership.Either)
        {
            // Two index-ordered reads, one per side, merged: each costs a page however many chats the member has, where one
            // query with OR would sort them all. A user is never both sides of one appointment, so no chat is in both.
            var asOwner = await ListAsync(ChatMembership.PetOwner, memberId, status, after, take, readerId, unreadOnly, cancellationToken);
            var asVet = await ListAsync(ChatMembership.Vet, memberId, status, after, take, readerId, unreadOnly, cancellationToken);
            return [.. asOwner.Concat(asVet).OrderByDescending(r => r.LastActivityAt).ThenByDescending(r => r.AppointmentId, StringComparer.Ordinal).Take(take)];
        }

        // The member's column as the chat's own (the same column of the same row), so that the filter, the cursor and the
        // order are all on the row the list's index (ix_chats_by_*) covers: one index range read, however many chats exist.
        var column = membership switch
        {
            ChatMembership.PetOwner => nameof(Appointment.PetOwnerId),
            ChatMembership.Vet => nameof(Appointment.VetId),
            _ => nameof(Appointment.OrganisationId),
        };
        var chats = db.Chats.AsNoTracking().Where(c => c.ChannelId != null && EF.Property<string>(c, column) == memberId);
        if (status is not null)
        {
            // A status no chat can have matches none.
            if (!EnumNames<ChatStatus>.TryParse(status, out var wanted))
            {
                return [];
            }

            chats = chats.Where(c => c.Status == wanted);
        }

        var unread = db.Set<UnreadCount>().Where(u => u.UserId == readerId);
        if (unreadOnly)
        {
            chats = chats.Where(c => unread.Any(u => u.ChannelId == c.ChannelId && u.Count > 0));
        }

        if (after is { } cursor)
        {
            chats = chats.Where(c => c.LastActivityAt < cursor.LastActivityAt
                || (c.LastActivityAt == cursor.LastActivityAt && string.Compare(c.AppointmentId, cursor.AppointmentId) < 0));
        }

        return await chats
            .OrderByDescending(c => c.LastActivityAt)
            .ThenByDescending(c => c.AppointmentId)
            .Take(take)
            .Select(c => new
            {
                Chat = c,
                c.Appointment,
                // As Stream last reported the name (user.updated), else as the PMS gave it.
                ReportedName = db.Set<ChatUser>().Where(u => u.Id == c.Appointment.PetOwnerId).Select(u => u.Name).FirstOrDefault(),
                UnreadCount = unread.Where(u => u.ChannelId == c.ChannelId).Select(u => u.Count).FirstOrDefault(),
                UnreadSince = unread.Where(u => u.ChannelId == c.ChannelId).Select(u => u.Since).FirstOrDefault(),
            })
            .Select(r => new ChatListRow(
                r.Chat.AppointmentId,
                r.Chat.ChannelId!,
                r.Appointment.PetOwnerId,
                r.Appointment.VetId,
                r.ReportedName ?? r.Appointment.PetOwnerName,
                r.Chat.LastMessageText,
                r.Chat.LastMessageAt,
                r.Chat.Status == null ? null : EnumNames<ChatStatus>.ToName(r.Chat.Status.Value),
                r.Appointment.StartsAt,
                r.Appointment.DurationMinutes,
                r.Appointment.ChatActivationMinutes,
                r.Chat.LastActivityAt!.Value,
                r.UnreadCount,
                r.UnreadSince,
                r.Appointment.OrganisationId))
            .ToListAsync(cancellationToken);
    }
}
