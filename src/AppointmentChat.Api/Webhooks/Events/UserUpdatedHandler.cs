using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;

namespace AppointmentChat.Api.Webhooks.Events;

/// <summary>
/// <c>user.updated</c>: a name the practice set stays the one chat lists and push titles show, whoever renamed the user in
/// Stream (a pet owner can, with their own token), and the scheduler puts it back in Stream; a user the practice never
/// named takes Stream's name.
/// </summary>
internal sealed class UserUpdatedHandler(ChatDbContext db, ChatSchedulerSignal scheduler, TimeProvider time) : IStreamEventHandler
{
    public IReadOnlyList<string> EventTypes { get; } = ["user.updated"];

    public async Task<EventOutcome> HandleAsync(string eventType, StreamEvent streamEvent, CancellationToken cancellationToken)
    {
        var user = StreamEvent.RequiredObject(streamEvent.User, "user");
        var id = StreamEvent.RequiredString(user.Id, "id");
        var name = user.Name;
        if (name is not null && name.Length > Appointment.MaxNameLength)
        {
            name = name[..Appointment.MaxNameLength];
        }

        if (await db.RecordReportedNameAsync(id, name, time.GetUtcNow(), cancellationToken))
        {
            scheduler.Wake(); // it puts the practice's name back in Stream
            return new EventOutcome(false, "renamed in Stream by someone other than the practice: the practice's name stays and is put back");
        }

        return EventOutcome.Done;
    }
}
