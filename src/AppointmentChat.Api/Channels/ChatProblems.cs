using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Channels;

/// <summary>The problems about appointment chats that apps can act on (docs/api.md, "Problem codes").</summary>
internal static class ChatProblems
{
    /// <summary>Not the appointment's pet owner, vet, an admin of its organisation or the service — or no such appointment.</summary>
    public static readonly ApiProblem NotAParticipant = new("not-a-participant", StatusCodes.Status403Forbidden, "Forbidden");

    /// <summary>Only the vet, an admin of the organisation or the service end a chat — or there is no such chat.</summary>
    public static readonly ApiProblem CannotEnd = new("cannot-end-chat", StatusCodes.Status403Forbidden, "Forbidden");

    public static readonly ApiProblem ChatNotFound = new("chat-not-found", StatusCodes.Status404NotFound, "Channel not found");

    /// <summary>The request's pet owner, vet or time disagrees with the appointment record.</summary>
    public static readonly ApiProblem AppointmentMismatch = new("appointment-mismatch", StatusCodes.Status409Conflict, "Appointment details do not match");

    public static readonly ApiProblem AppointmentCancelled = new("appointment-cancelled", StatusCodes.Status409Conflict, "Appointment cancelled");

    /// <summary>A no-show, or a completed appointment where completion ends chats.</summary>
    public static readonly ApiProblem AppointmentClosed = new("appointment-closed", StatusCodes.Status409Conflict, "Appointment closed");

    public static readonly ApiProblem ChatWindowClosed = new("chat-window-closed", StatusCodes.Status409Conflict, "Chat window closed");
}
