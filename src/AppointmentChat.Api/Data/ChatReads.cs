namespace AppointmentChat.Api.Data;

/// <summary>Whose chats a list is: the chats someone is a member of as pet owner, as vet or as either, or an organisation's.</summary>
internal enum ChatMembership
{
    PetOwner,
    Vet,
    Either,
    Organisation,
}

/// <summary>
/// One chat of a list: its appointment's columns that the list shows, as stored (a status as its name), and the reader's
/// unread count (<c>unread_counts</c>; 0 and null without a row). The organisation's settings decide when the chat closes.
/// </summary>
/// <param name="PetOwnerName">The pet owner's display name as Stream last reported it (user.updated), else as the PMS gave it.</param>
internal sealed record ChatListRow(
    string AppointmentId,
    string ChannelId,
    string PetOwnerId,
    string VetId,
    string? PetOwnerName,
    string? LastMessageText,
    DateTimeOffset? LastMessageAt,
    string? ChatStatus,
    DateTimeOffset StartsAt,
    int DurationMinutes,
    int ChatActivationMinutes,
    DateTimeOffset LastActivityAt,
    int UnreadCount,
    DateTimeOffset? UnreadSince,
    string OrganisationId);

/// <summary>The columns of an appointment's row that decide who may open its chat and when, as stored.</summary>
internal sealed record ChatFactsRow(
    string Id,
    string PetOwnerId,
    string VetId,
    string OrganisationId,
    DateTimeOffset StartsAt,
    int DurationMinutes,
    int ChatActivationMinutes,
    string Status,
    string? ChannelId,
    string? ChatStatus,
    int Version,
    string? TimeZone);

/// <summary>Where a page of a list starts: after the chat with this activity time and appointment id.</summary>
internal readonly record struct ListPosition(DateTimeOffset LastActivityAt, string AppointmentId);

/// <summary>
/// The two reads the apps make on every screen, opening a chat and listing chats. The plain path is the chat feature's
/// own EF Core queries; PostgreSQL has a measured fast path (<see cref="PostgresChatReads"/>) that answers exactly as they
/// do (tested: ChatReadsAnswerAsThePlainPathTests).
/// </summary>
internal interface IChatReads
{
    /// <summary>The largest page of a list.</summary>
    const int MaxPageSize = 100;

    /// <summary>The chat facts of an appointment, by id; null if there is no such appointment.</summary>
    Task<ChatFactsRow?> FindChatFactsAsync(string appointmentId, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="take"/> chats of a member or organisation, newest activity first (ties by appointment id,
    /// descending, compared byte-wise), after <paramref name="after"/> if given.
    /// </summary>
    /// <param name="status">Only chats with this status (its stored name), if given.</param>
    /// <param name="readerId">Whose unread counts the rows carry: the caller's.</param>
    /// <param name="unreadOnly">Only chats where the reader has unread messages.</param>
    Task<List<ChatListRow>> ListAsync(ChatMembership membership, string memberId, string? status, ListPosition? after, int take, string readerId, bool unreadOnly, CancellationToken cancellationToken);
}
