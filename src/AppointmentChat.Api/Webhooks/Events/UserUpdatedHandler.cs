using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;

namespace AppointmentChat.Api.Webhooks.Events;

/// <summary><c>user.updated</c>: refreshes the display name used in chat lists and push titles.</summary>
internal sealed class UserUpdatedHandler(ChatDbContext db, EventBatch batch, TimeProvider time) : IStreamEventHandler
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

        await db.RecordReportedNameAsync(id, name, time.GetUtcNow(), cancellationToken);

        if (batch.Lookups is { } lookups)
        {
            lookups.Names[id] = name;
        }

        return EventOutcome.Done;
    }
}
