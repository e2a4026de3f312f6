using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Appointments;

/// <summary>The problems about appointments that apps can act on (docs/api.md, "Problem codes").</summary>
internal static class AppointmentProblems
{
    /// <summary>Only the service role is told an appointment does not exist; others get a 403 that says the same for "not yours".</summary>
    public static readonly ApiProblem NotFound = new("appointment-not-found", StatusCodes.Status404NotFound, "Appointment not found");

    /// <summary>Concurrent changes kept winning; the same request succeeds when retried.</summary>
    public static readonly ApiProblem Changing = new("appointment-changing", StatusCodes.Status409Conflict, "Appointment changed meanwhile; retry");
}
