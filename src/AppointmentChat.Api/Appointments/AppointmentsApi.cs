using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Appointments;

/// <summary>The appointment facts chat needs, pushed by the PMS and read by participants.</summary>
internal static class AppointmentsApi
{
    public static RouteGroupBuilder MapAppointments(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/appointments").WithTags("Appointments").RequireAuthorization()
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized);

        group.MapPut("/{appointmentId}", PutAppointment)
            .WithName("putAppointment")
            .RequireAuthorization(AuthSetup.PracticePolicy)
            .ProducesProblems(StatusCodes.Status403Forbidden, StatusCodes.Status409Conflict, StatusCodes.Status415UnsupportedMediaType, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Create or update an appointment (PMS: service or admin role)")
            .WithRequestExample(AppointmentRequest.Example)
            .WithResponseExample(StatusCodes.Status201Created, AppointmentResponse.NewExample)
            .WithResponseExample(StatusCodes.Status200OK, AppointmentResponse.ChattingExample);

        group.MapGet("/{appointmentId}", GetAppointment)
            .WithName("getAppointment")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Read an appointment (its participants, its organisation's admins, the service)")
            .WithResponseExample(StatusCodes.Status200OK, AppointmentResponse.ChattingExample);

        return group;
    }

    internal static async Task<Results<Created<AppointmentResponse>, Ok<AppointmentResponse>, ValidationProblem, ProblemHttpResult>> PutAppointment(
        string appointmentId,
        AppointmentRequest request,
        CurrentUser caller,
        ChatDbContext db,
        TimeProvider time,
        IAppointmentChat chats,
        Organisations.PracticeSettingsReader practices,
        CancellationToken cancellationToken)
    {
        var errors = new RequestErrors();
        if (!IsValidAppointmentId(appointmentId))
        {
            errors.Add("appointmentId", StreamIds.Describe(Appointment.MaxIdLength, allowAt: false));
        }

        // The organisation's own default, once its id is known to be one (else validation refuses the request anyway).
        var defaultActivation = StreamIds.IsValidUserId(request.OrganisationId)
            ? (await practices.ForAsync(request.OrganisationId!, cancellationToken)).ChatActivationMinutes
            : chats.DefaultActivationMinutes;
        var facts = request.Validate(errors, defaultActivation, chats.SystemUserId);
        if (errors.Any || facts is null)
        {
            return errors.ToProblem();
        }

        if (!caller.IsService && !caller.IsAdminOf(facts.OrganisationId))
        {
            return Forbidden("An admin can only manage appointments of their own organisation.");
        }

        var now = time.GetUtcNow();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var appointment = await db.Appointments.FirstOrDefaultAsync(a => a.Id == appointmentId, cancellationToken);
            if (appointment is null)
            {
                appointment = new Appointment
                {
                    Id = appointmentId,
                    PetOwnerId = facts.PetOwnerId,
                    VetId = facts.VetId,
                    OrganisationId = facts.OrganisationId,
                    CreatedAt = now,
                    UpdatedAt = now,
                };
                facts.ApplyTo(appointment);
                if (await db.TryInsertAppointmentAsync(appointment, cancellationToken))
                {
                    return TypedResults.Created($"/api/appointments/{appointmentId}", AppointmentResponse.From(appointment, AppointmentChatState.None));
                }

                // A concurrent PUT created it first (no exception, no error logged): apply ours as an update.
                continue;
            }

            if (!caller.IsService && !caller.IsAdminOf(appointment.OrganisationId))
            {
                return Forbidden("An admin can only manage appointments of their own organisation.");
            }

            if (facts.SameAs(appointment))
            {
                return TypedResults.Ok(AppointmentResponse.From(appointment, await chats.StateAsync(appointmentId, cancellationToken)));
            }

            facts.ApplyTo(appointment);
            appointment.UpdatedAt = now;
            appointment.Version++;
            bool chatDue;
            try
            {
                chatDue = await chats.OnFactsChangedAsync(appointment, caller.Id, now, cancellationToken);
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateConcurrencyException)
            {
                // The chat scheduler wrote the row meanwhile: apply these facts to the fresh row.
                db.ChangeTracker.Clear();
                continue;
            }

            if (chatDue)
            {
                chats.WakeScheduler();
            }

            return TypedResults.Ok(AppointmentResponse.From(appointment, await chats.StateAsync(appointmentId, cancellationToken)));
        }

        return AppointmentProblems.Changing.Result("The appointment kept changing while it was being updated; retry.");
    }

    internal static async Task<Results<Ok<AppointmentResponse>, ValidationProblem, ProblemHttpResult>> GetAppointment(
        string appointmentId,
        CurrentUser caller,
        ChatDbContext db,
        IAppointmentChat chats,
        CancellationToken cancellationToken)
    {
        if (!IsValidAppointmentId(appointmentId))
        {
            var errors = new RequestErrors();
            errors.Add("appointmentId", StreamIds.Describe(Appointment.MaxIdLength, allowAt: false));
            return errors.ToProblem();
        }

        var appointment = await db.Appointments.AsNoTracking().FirstOrDefaultAsync(a => a.Id == appointmentId, cancellationToken);

        // "Not yours" and "does not exist" look the same.
        return appointment is not null && CanRead(caller, appointment)
            ? TypedResults.Ok(AppointmentResponse.From(appointment, await chats.StateAsync(appointmentId, cancellationToken)))
            : NotFound();
    }

    public static bool IsValidAppointmentId(string appointmentId) =>
        StreamIds.IsValid(appointmentId, Appointment.MaxIdLength, allowAt: false);

    /// <summary>Participants, admins of its organisation and the service may see an appointment.</summary>
    public static bool CanRead(CurrentUser caller, Appointment appointment) =>
        caller.IsService
        || caller.IsAdminOf(appointment.OrganisationId)
        || caller.Id == appointment.PetOwnerId
        || caller.Id == appointment.VetId;

    public static ProblemHttpResult NotFound() =>
        AppointmentProblems.NotFound.Result("No appointment with this id is visible to you.");

    private static ProblemHttpResult Forbidden(string detail) => Organisations.OrganisationProblems.OtherOrganisation.Result(detail);
}
