using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
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
                c.Version))
            .FirstOrDefaultAsync(cancellationToken);

    public Task<List<ChatListRow>> ListAsync(ChatMembership membership, string memberId, string? status, ListPosition? after, int take, CancellationToken cancellationToken)
    {
        var chats = db.Chats.AsNoTracking().Where(c => c.ChannelId != null);
        chats = membership switch
        {
            ChatMembership.PetOwner => chats.Where(c => c.Appointment.PetOwnerId == memberId),
            ChatMembership.Vet => chats.Where(c => c.Appointment.VetId == memberId),
            ChatMembership.Organisation => chats.Where(c => c.Appointment.OrganisationId == memberId),
            _ => chats.Where(c => c.Appointment.PetOwnerId == memberId || c.Appointment.VetId == memberId),
        };

        if (status is not null)
        {
            // A status no chat can have matches none.
            if (!EnumNames<ChatStatus>.TryParse(status, out var wanted))
            {
                return Task.FromResult(new List<ChatListRow>());
            }

            chats = chats.Where(c => c.Status == wanted);
        }

        if (after is { } cursor)
        {
            chats = chats.Where(c => c.LastActivityAt < cursor.LastActivityAt
                || (c.LastActivityAt == cursor.LastActivityAt && string.Compare(c.AppointmentId, cursor.AppointmentId) < 0));
        }

        return chats
            .OrderByDescending(c => c.LastActivityAt)
            .ThenByDescending(c => c.AppointmentId)
            .Take(take)
            .Select(c => new
            {
                Chat = c,
                c.Appointment,
                // As Stream last reported the name (user.updated), else as the PMS gave it.
                ReportedName = db.Set<ChatUser>().Where(u => u.Id == c.Appointment.PetOwnerId).Select(u => u.Name).FirstOrDefault(),
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
                r.Chat.LastActivityAt!.Value))
            .ToListAsync(cancellationToken);
    }
}
