using System.Globalization;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Transcripts;
using AppointmentChat.Api.Webhooks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace AppointmentChat.Api.Operator;

/// <summary>
/// <c>/api/operator</c>: the work the service could not finish by itself — webhooks parked as dead, chats the scheduler
/// keeps failing to bring in line with Stream, pushes and transcript callbacks given up — listed with their last error, retried or discarded, and
/// every action recorded (<see cref="OperatorAudit"/>). For the <c>operator</c> role, and <c>service</c> (automation).
/// Each feature owns its writes; these endpoints only call them.
/// </summary>
internal static class OperatorApi
{
    private const int MaxPage = 500;
    private const int DefaultPage = 50;

    public static RouteGroupBuilder MapOperator(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/operator").WithTags("Operator").RequireAuthorization(AuthSetup.OperatorPolicy);
        int[] listProblems = [StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status503ServiceUnavailable];
        int[] actProblems = [StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable];

        MapGivenUp<DeadWebhooks, DeadEvent, OperatorWebhooksResponse>(group, "webhooks", OperatorActions.Webhook, "dead webhook event", ("Webhook", "Webhooks"),
            ("Webhook events parked as dead, newest first, with their last error",
                "Queue a dead webhook event for processing again, its attempts counted afresh",
                "Never process a dead webhook event; it is kept, discarded, until retention deletes it"),
            items => new OperatorWebhooksResponse(items), OperatorExamples.Webhook, OperatorExamples.Webhook with { Attempts = 0 }, listProblems, actProblems);

        group.MapGet("/chats", ListChats)
            .WithName("listOperatorChats")
            .ProducesProblems(listProblems)
            .WithSummary("Chats the scheduler keeps failing to bring in line with Stream, next retry first, with their last error")
            .DocumentsQueryInteger("limit", 1, MaxPage, DefaultPage, "How many to list.")
            .WithResponseExample(StatusCodes.Status200OK, new OperatorChatsResponse([OperatorExamples.Chat]));
        group.MapPost("/chats/{appointmentId}/retry", RetryChat)
            .WithName("retryOperatorChat")
            .ProducesProblems([StatusCodes.Status400BadRequest, .. actProblems, StatusCodes.Status409Conflict])
            .WithSummary("Clear a failing chat's backoff: the scheduler takes it at once")
            .WithResponseExample(StatusCodes.Status200OK, OperatorExamples.Chat with { Attempts = 0, RetryAt = OperatorExamples.Now });
        group.MapPost("/chats/{appointmentId}/discard", DiscardChat)
            .WithName("discardOperatorChat")
            .ProducesProblems([StatusCodes.Status400BadRequest, .. actProblems, StatusCodes.Status409Conflict])
            .WithSummary("Stop retrying a failing chat; it stays as Stream has it until its appointment changes or it is retried")
            .WithResponseExample(StatusCodes.Status200OK, OperatorExamples.Chat with { RetryAt = null });

        MapGivenUp<GivenUpPushes, GivenUpPush, OperatorPushesResponse>(group, "pushes", OperatorActions.Push, "given-up push", ("Push", "Pushes"),
            ("Push notifications given up, newest first, with their last error",
                "Send a given-up push again to the devices still owed it, its attempts counted afresh",
                "Never send a given-up push; it is kept, discarded, until retention deletes it"),
            items => new OperatorPushesResponse(items), OperatorExamples.Push, OperatorExamples.Push with { Attempts = 0 }, listProblems, actProblems);

        MapGivenUp<GivenUpTranscripts, GivenUpTranscript, OperatorTranscriptsResponse>(group, "transcripts", OperatorActions.Transcript, "given-up transcript callback", ("Transcript", "Transcripts"),
            ("Transcript callbacks given up (the PMS kept refusing or could not be reached), newest first, with their last error",
                "Deliver a given-up transcript callback again, its attempts counted afresh, under the same delivery id",
                "Never deliver a given-up transcript callback; it is kept, discarded, until retention deletes it"),
            items => new OperatorTranscriptsResponse(items), OperatorExamples.Transcript, OperatorExamples.Transcript with { Attempts = 0 }, listProblems, actProblems);

        group.MapGet("/audit", ListAudit)
            .WithName("listOperatorActions")
            .ProducesProblems(listProblems)
            .WithSummary("Every retry and discard asked for, newest first: who, what, which, the outcome")
            .DocumentsQueryInteger("limit", 1, MaxPage, DefaultPage, "How many to list.")
            .WithResponseExample(StatusCodes.Status200OK, new OperatorAuditResponse([OperatorExamples.Action]));

        return group;
    }

    internal static async Task<Results<Ok<OperatorChatsResponse>, ValidationProblem>> ListChats(
        ChatSyncProblems chats, [FromQuery(Name = "limit")] string? limit, CancellationToken cancellationToken) =>
        Page(limit) is { } take
            ? TypedResults.Ok(new OperatorChatsResponse(await chats.ListAsync(take, cancellationToken)))
            : BadLimit();

    internal static Task<Results<Ok<ChatSyncProblem>, ValidationProblem, ProblemHttpResult>> RetryChat(
        string appointmentId, ChatSyncProblems chats, OperatorAudit audit, CurrentUser caller, CancellationToken cancellationToken) =>
        ActOnChatAsync(appointmentId, audit, caller, OperatorActions.Retry, () => chats.RetryAsync(appointmentId, cancellationToken), cancellationToken);

    internal static Task<Results<Ok<ChatSyncProblem>, ValidationProblem, ProblemHttpResult>> DiscardChat(
        string appointmentId, ChatSyncProblems chats, OperatorAudit audit, CurrentUser caller, CancellationToken cancellationToken) =>
        ActOnChatAsync(appointmentId, audit, caller, OperatorActions.Discard, () => chats.DiscardAsync(appointmentId, cancellationToken), cancellationToken);

    internal static async Task<Results<Ok<OperatorAuditResponse>, ValidationProblem>> ListAudit(
        OperatorAudit audit, [FromQuery(Name = "limit")] string? limit, CancellationToken cancellationToken) =>
        Page(limit) is { } take
            ? TypedResults.Ok(new OperatorAuditResponse(await audit.ListAsync(take, cancellationToken)))
            : BadLimit();

    /// <summary>
    /// One kind of given-up work's three routes — list, retry, discard —, documented alike; each retry and discard is
    /// recorded whatever its outcome.
    /// </summary>
    private static void MapGivenUp<TWork, TItem, TList>(
        RouteGroupBuilder group, string path, string kind, string noun, (string One, string Many) names, (string List, string Retry, string Discard) summaries,
        Func<IReadOnlyList<TItem>, TList> page, TItem example, TItem retried, int[] listProblems, int[] actProblems)
        where TWork : IGivenUpWork<TItem>
        where TItem : class
        where TList : class
    {
        group.MapGet($"/{path}", async Task<Results<Ok<TList>, ValidationProblem>> (TWork work, [FromQuery(Name = "limit")] string? limit, CancellationToken cancellationToken) =>
                Page(limit) is { } take ? TypedResults.Ok(page(await work.ListAsync(take, cancellationToken))) : BadLimit())
            .WithName($"listOperator{names.Many}")
            .ProducesProblems(listProblems)
            .WithSummary(summaries.List)
            .DocumentsQueryInteger("limit", 1, MaxPage, DefaultPage, "How many to list.")
            .WithResponseExample(StatusCodes.Status200OK, page([example]));
        group.MapPost($"/{path}/{{id:long}}/retry", (long id, TWork work, OperatorAudit audit, CurrentUser caller, CancellationToken cancellationToken) =>
                ActAsync(audit, caller, OperatorActions.Retry, kind, noun, id, () => work.RetryAsync(id, cancellationToken), TWork.ErrorOf))
            .WithName($"retryOperator{names.One}")
            .ProducesProblems(actProblems)
            .WithSummary(summaries.Retry)
            .WithResponseExample(StatusCodes.Status200OK, retried);
        group.MapPost($"/{path}/{{id:long}}/discard", (long id, TWork work, OperatorAudit audit, CurrentUser caller, CancellationToken cancellationToken) =>
                ActAsync(audit, caller, OperatorActions.Discard, kind, noun, id, () => work.DiscardAsync(id, cancellationToken), TWork.ErrorOf))
            .WithName($"discardOperator{names.One}")
            .ProducesProblems(actProblems)
            .WithSummary(summaries.Discard)
            .WithResponseExample(StatusCodes.Status200OK, example);
    }

    /// <summary>Acts on an item of given-up work by id, and records the action whatever its outcome.</summary>
    private static async Task<Results<Ok<T>, ProblemHttpResult>> ActAsync<T>(
        OperatorAudit audit, CurrentUser caller, string action, string kind, string noun, long id, Func<Task<T?>> act, Func<T, string?> error)
        where T : class
    {
        var item = await act();
        var itemId = id.ToString(CultureInfo.InvariantCulture);
        await audit.RecordAsync(caller, action, kind, itemId, item is null ? OperatorActions.NotFound : OperatorActions.Done, item is null ? null : error(item), CancellationToken.None);
        return item is null
            ? OperatorProblems.ProblemNotFound.Result($"No {noun} with id {itemId}.")
            : TypedResults.Ok(item);
    }

    private static async Task<Results<Ok<ChatSyncProblem>, ValidationProblem, ProblemHttpResult>> ActOnChatAsync(
        string appointmentId, OperatorAudit audit, CurrentUser caller, string action, Func<Task<(ChatSyncProblem? Chat, bool Busy)>> act, CancellationToken cancellationToken)
    {
        if (!AppointmentsApi.IsValidAppointmentId(appointmentId))
        {
            var errors = new RequestErrors();
            errors.Add("appointmentId", StreamIds.Describe(Appointment.MaxIdLength, allowAt: false));
            return errors.ToProblem();
        }

        var (chat, busy) = await act();
        var outcome = chat is not null ? OperatorActions.Done : busy ? OperatorActions.Busy : OperatorActions.NotFound;
        await audit.RecordAsync(caller, action, OperatorActions.Chat, appointmentId, outcome, chat?.Error, CancellationToken.None);
        return (chat, busy) switch
        {
            ({ } done, _) => TypedResults.Ok(done),
            (null, true) => OperatorProblems.ProblemBusy.Result("The scheduler is working on this chat right now; look again in a moment."),
            _ => OperatorProblems.ProblemNotFound.Result(action == OperatorActions.Discard
                ? $"No chat of appointment {appointmentId} is being retried after a sync error."
                : $"No chat of appointment {appointmentId} has a sync error."),
        };
    }

    private static int? Page(string? limit) =>
        limit is null ? DefaultPage
        : int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var take) && take is >= 1 and <= MaxPage ? take
        : null;

    private static ValidationProblem BadLimit()
    {
        var errors = new RequestErrors();
        errors.Add("limit", $"must be a whole number from 1 to {MaxPage}.");
        return errors.ToProblem();
    }
}

/// <summary>The problems the operator surface answers (docs/api.md, "Problem codes").</summary>
internal static class OperatorProblems
{
    /// <summary>No item with this id has the problem acted on (never had, or was retried, discarded or deleted since).</summary>
    public static readonly ApiProblem ProblemNotFound = new("problem-not-found", StatusCodes.Status404NotFound, "Problem not found");

    /// <summary>A worker holds the item right now; acting under it could be undone by its outcome.</summary>
    public static readonly ApiProblem ProblemBusy = new("problem-busy", StatusCodes.Status409Conflict, "Being worked on; retry shortly");
}
