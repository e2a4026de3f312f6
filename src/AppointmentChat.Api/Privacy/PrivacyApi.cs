using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using System.Text.Json;

namespace AppointmentChat.Api.Privacy;

/// <summary>
/// <c>/api/privacy</c>: a person's data on request (GDPR art. 15, export) and its erasure (art. 17), for the
/// organisation's <c>admin</c> and the <c>service</c> (docs/privacy.md). An admin reaches a user who has appointments in
/// their organisation; anyone else is "not yours" (403, as for appointments): only the service is told what does not exist.
/// </summary>
internal static class PrivacyApi
{
    public static RouteGroupBuilder MapPrivacy(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/privacy").WithTags("Privacy").RequireAuthorization(AuthSetup.PracticePolicy);

        group.MapGet("/users/{userId}/export", Export)
            .WithName("exportUserData")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status502BadGateway, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Everything the service and Stream hold about a user, as JSON (GDPR art. 15)")
            .WithResponseExample(StatusCodes.Status200OK, PrivacyExamples.Export);
        group.MapPost("/users/{userId}/erasure", Erase)
            .WithName("eraseUserData")
            .Produces<ErasureResponse>(StatusCodes.Status202Accepted)
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status409Conflict,
                StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Erase a user: Stream's user deletion and every local row (GDPR art. 17); idempotent, resumed until done")
            .WithRequestExample(new ErasureRequest(ErasureModes.Soft, ErasureModes.Keep))
            .WithResponseExample(StatusCodes.Status200OK, PrivacyExamples.Erasure)
            .WithResponseExample(StatusCodes.Status202Accepted, PrivacyExamples.PendingErasure);
        group.MapGet("/erasures/{id:long}", GetErasure)
            .WithName("getErasure")
            .ProducesProblems(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("An erasure's state and audit: who asked, when, each step with its count, what was kept and why")
            .WithResponseExample(StatusCodes.Status200OK, PrivacyExamples.Erasure);
        return group;
    }

    internal static async Task<Results<Ok<PrivacyExport>, ValidationProblem, ProblemHttpResult>> Export(
        string userId, CurrentUser caller, PrivacyExports exports, Erasures erasures, CancellationToken cancellationToken)
    {
        if (BadUserId(userId) is { } bad)
        {
            return bad;
        }

        var organisations = await OrganisationsAsync(userId, exports, erasures, cancellationToken);
        if (!caller.IsService && !organisations.Contains(caller.OrganisationId ?? "", StringComparer.Ordinal))
        {
            return NotYours();
        }

        return TypedResults.Ok(await exports.ExportAsync(userId, caller.IsService ? null : caller.OrganisationId, cancellationToken));
    }

    internal static async Task<Results<Ok<ErasureResponse>, Accepted<ErasureResponse>, ValidationProblem, ProblemHttpResult>> Erase(
        string userId, ErasureRequest request, CurrentUser caller, PrivacyExports exports, Erasures erasures, ChatDbContext db, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var errors = new RequestErrors();
        if (BadUserId(userId) is { } bad)
        {
            return bad;
        }

        if (request.Validate(errors) is not { } options)
        {
            return errors.ToProblem();
        }

        var existing = await erasures.FindForUserAsync(userId, cancellationToken);
        var organisations = await OrganisationsAsync(userId, exports, erasures, cancellationToken);
        if (!caller.IsService)
        {
            if (!organisations.Contains(caller.OrganisationId ?? "", StringComparer.Ordinal))
            {
                return NotYours();
            }

            if (organisations.Count > 1)
            {
                return PrivacyProblems.OtherOrganisations.Result(
                    "The user has appointments in other organisations too, and Stream deletes a user everywhere: only the service may erase them.");
            }
        }

        if (existing is null)
        {
            var kept = await KeptAsync(userId, options.Messages, db, cancellationToken);
            if (options.Messages != ErasureModes.Keep && kept.Find(k => k.Reason == PrivacyReasons.ChatNotEnded) is { } open)
            {
                return PrivacyProblems.ChatNotEnded.Result(
                    $"The chat of appointment {open.AppointmentId} has not ended: its messages are still the record of an ongoing appointment. End it, or erase with messages: keep. Nothing was erased.");
            }

            existing = await erasures.RecordAsync(new Erasure
            {
                UserId = userId,
                OrganisationIds = string.Join(',', organisations),
                RequestedBy = caller.Id,
                RequestedByRoles = string.Join(',', caller.Roles.Where(r => r is Roles.Admin or Roles.Service)),
                RequestedAt = time.GetUtcNow(),
                StreamUser = options.User,
                StreamMessages = options.Messages,
                Status = ErasureStatus.Pending,
                NextAttemptAt = time.GetUtcNow() + ErasureWorker.RequestGrace,
                Steps = Erasures.NoStepsDone(),
                Kept = JsonSerializer.Serialize(kept, PrivacyJsonContext.Default.IReadOnlyListKeptRecord),
            }, cancellationToken);
        }

        // A repeated request answers with the same record, resuming what is not done; its own options are not applied.
        var erasure = ErasureResponse.From(await erasures.RunAsync(existing.Id, cancellationToken));
        return erasure.Status == ErasureStatus.Completed
            ? TypedResults.Ok(erasure)
            : TypedResults.Accepted($"/api/privacy/erasures/{erasure.Id}", erasure);
    }

    internal static async Task<Results<Ok<ErasureResponse>, ProblemHttpResult>> GetErasure(long id, CurrentUser caller, Erasures erasures, CancellationToken cancellationToken)
    {
        var erasure = await erasures.FindAsync(id, cancellationToken);
        if (erasure is null)
        {
            return caller.IsService ? PrivacyProblems.ErasureNotFound.Result($"No erasure with id {id}.") : NotYours();
        }

        if (!caller.IsService && !erasure.OrganisationIds.Split(',').Contains(caller.OrganisationId ?? "", StringComparer.Ordinal))
        {
            return NotYours();
        }

        return TypedResults.Ok(ErasureResponse.From(erasure));
    }

    /// <summary>What the erasure keeps of each of the user's appointments, and why.</summary>
    private static async Task<List<KeptRecord>> KeptAsync(string userId, string messages, ChatDbContext db, CancellationToken cancellationToken)
    {
        var chats = await db.Chats.AsNoTracking().Include(c => c.Appointment)
            .Where(c => c.Appointment.PetOwnerId == userId || c.Appointment.VetId == userId)
            .OrderBy(c => c.AppointmentId)
            .Select(c => new { c.AppointmentId, c.Appointment.OrganisationId, c.ChannelId, c.Status })
            .ToListAsync(cancellationToken);
        return [.. chats.Select(c =>
        {
            var hasChat = c.ChannelId is not null;
            var notEnded = hasChat && c.Status != ChatStatus.Ended;
            List<string> kept = ["appointment"];
            if (hasChat && messages == ErasureModes.Keep)
            {
                kept.Add("stream-messages");
            }

            return notEnded
                ? new KeptRecord(c.AppointmentId, c.OrganisationId, c.ChannelId, kept, PrivacyReasons.ChatNotEnded,
                    "The chat has not ended: the appointment and its chat go on (the user's name is erased), and its messages stay as the record of an ongoing appointment.")
                : new KeptRecord(c.AppointmentId, c.OrganisationId, c.ChannelId, kept, PrivacyReasons.ClinicalRecord,
                    kept.Count > 1
                        ? "The appointment (without names) and what was said in its chat are the practice's clinical record, which it must keep (GDPR art. 17(3)(b))."
                        : "The appointment (without names) is the practice's record of the visit, which it must keep (GDPR art. 17(3)(b)).");
        })];
    }

    private static async Task<List<string>> OrganisationsAsync(string userId, PrivacyExports exports, Erasures erasures, CancellationToken cancellationToken)
    {
        var organisations = await exports.OrganisationsOfAsync(userId, cancellationToken);
        if (await erasures.FindForUserAsync(userId, cancellationToken) is { } erasure)
        {
            organisations.AddRange(erasure.OrganisationIds.Split(',', StringSplitOptions.RemoveEmptyEntries));
        }

        return [.. organisations.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    private static ValidationProblem? BadUserId(string userId)
    {
        if (StreamIds.IsValidUserId(userId))
        {
            return null;
        }

        var errors = new RequestErrors();
        errors.Add("userId", StreamIds.Describe(StreamIds.MaxUserIdLength, allowAt: true));
        return errors.ToProblem();
    }

    private static ProblemHttpResult NotYours() =>
        Organisations.OrganisationProblems.OtherOrganisation.Result("An admin reaches only users who have appointments in their own organisation.");
}

internal static class PrivacyReasons
{
    public const string ClinicalRecord = "clinical-record";
    public const string ChatNotEnded = "chat-not-ended";
}

/// <summary>The problems the privacy endpoints answer (docs/api.md, "Problem codes").</summary>
internal static class PrivacyProblems
{
    /// <summary>Only the service is told that an erasure id does not exist.</summary>
    public static readonly ApiProblem ErasureNotFound = new("erasure-not-found", StatusCodes.Status404NotFound, "Erasure not found");

    /// <summary>An admin asked to erase a user whom other organisations also have appointments with.</summary>
    public static readonly ApiProblem OtherOrganisations = new("erasure-spans-organisations", StatusCodes.Status403Forbidden, "Forbidden");

    /// <summary>Deleting the messages of a chat that has not ended would cut the record of an ongoing appointment.</summary>
    public static readonly ApiProblem ChatNotEnded = new("erasure-chat-not-ended", StatusCodes.Status409Conflict, "A chat of the user has not ended");
}
