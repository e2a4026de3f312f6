using System.Globalization;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Channels;

/// <summary>One Stream channel per appointment: create-or-get, end, and each user's chat list.</summary>
internal static class ChannelsApi
{
    public const int DefaultPageSize = 30;
    public const int MaxPageSize = IChatReads.MaxPageSize;

    // The same answer for "not yours" and "does not exist", so ids cannot be probed.
    private const string NotOpenToYou = "No appointment with this id is open to you.";
    private const string ChannelNotOpenToYou = "No chat with this id can be ended by you.";

    public static RouteGroupBuilder MapChannels(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chat/channels").WithTags("Channels").RequireAuthorization()
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized);

        group.MapPost("/", CreateOrGet)
            .WithName("getOrCreateAppointmentChannel")
            .ProducesProblems(StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict,
                StatusCodes.Status415UnsupportedMediaType, StatusCodes.Status502BadGateway, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Create (or get) the chat channel of an appointment")
            .WithDescription("For the appointment's pet owner and vet, an admin of its organisation, or the service. Idempotent.")
            .WithRequestExample(new CreateChannelRequest("apt-1"))
            .WithResponseExample(StatusCodes.Status200OK, ChannelExamples.Channel);

        group.MapPost("/{channelId}/end", End)
            .WithName("endChat")
            .ProducesProblems(StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status502BadGateway, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("End an appointment's chat: a system message, then the channel frozen with status ended")
            .WithDescription("For the appointment's vet, an admin of its organisation, or the service. Idempotent.")
            .WithResponseExample(StatusCodes.Status200OK, new EndChannelResponse(true));

        group.MapGet("/", List)
            .WithName("listChats")
            .ProducesProblems(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("The caller's chats, newest activity first")
            .WithDescription("Members see their own chats; an admin sees their organisation's; the service names an organisationId. Each chat carries the caller's unread count.")
            .DocumentsQueryChoice("role", [Roles.PetOwner, Roles.Vet], "Only the chats where the caller is on this side.")
            .DocumentsQueryChoice("status", EnumNames<ChatStatus>.All, "Only the chats in this state.")
            .DocumentsQueryChoice("unread", ["true", "false"], "true: only the chats where the caller has unread messages.")
            .DocumentsQueryInteger("limit", 1, MaxPageSize, DefaultPageSize, "How many chats a page holds.")
            .DocumentsQueryText("cursor", "The previous page's nextCursor (opaque).")
            .DocumentsQueryText("organisationId", "The organisation whose chats to list: required for the service role, ignored otherwise.")
            .WithResponseExample(StatusCodes.Status200OK, ChannelExamples.List);

        return group;
    }

    internal static async Task<Results<Ok<ChannelResponse>, ValidationProblem, ProblemHttpResult>> CreateOrGet(
        CreateChannelRequest request,
        CurrentUser caller,
        IChatReads reads,
        HttpContext context,
        StripedLocks locks,
        TimeProvider time,
        IOptions<ChatOptions> options,
        Organisations.PracticeSettingsReader practices,
        CancellationToken cancellationToken)
    {
        var errors = new RequestErrors();
        if (!request.Validate(errors))
        {
            return errors.ToProblem();
        }

        // A concurrent create or appointment change makes CreateAsync step aside; read again and go on.
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var appointment = await reads.FindChatFactsAsync(request.AppointmentId!, cancellationToken) is { } row ? ChatFacts.From(row) : null;
            if (appointment is null)
            {
                return caller.IsService ? AppointmentProblems.NotFound.Result("No appointment with this id exists.") : ChatProblems.NotAParticipant.Result(NotOpenToYou);
            }

            if (!CanOpen(caller, appointment))
            {
                return ChatProblems.NotAParticipant.Result(NotOpenToYou);
            }

            var practice = await practices.ForAsync(appointment.OrganisationId, cancellationToken);
            var window = options.Value.For(practice);
            if (request.Disagreement(appointment, practice) is { } disagreement)
            {
                return ChatProblems.AppointmentMismatch.Result(disagreement.Detail + " The appointment record is the truth; nothing was created.");
            }

            if (appointment.ChannelId is not null)
            {
                return TypedResults.Ok(ChannelResponse.From(appointment, window));
            }

            if (Refusal(appointment, time.GetUtcNow(), window) is { } refusal)
            {
                return refusal;
            }

            // One creation at a time per appointment in this instance; the others then find it made. The database
            // context and the Stream client are taken only now: opening an existing chat, which the apps do on every
            // open, needs neither.
            using (await locks.EnterAsync(appointment.Id, cancellationToken))
            {
                var record = context.RequestServices.GetRequiredService<ChatRecord>();
                var chats = context.RequestServices.GetRequiredService<AppointmentChats>();
                var current = await record.ReadAsync(appointment.Id, cancellationToken);
                if (current is { ChannelId: null } && current.Version == appointment.Version)
                {
                    await chats.CreateAsync(current.Appointment, cancellationToken);
                }
            }
        }

        return AppointmentProblems.Changing.Result("The appointment kept changing while its chat was being created; retry.");
    }

    internal static async Task<Results<Ok<EndChannelResponse>, ValidationProblem, ProblemHttpResult>> End(
        string channelId,
        CurrentUser caller,
        ChatRecord record,
        AppointmentChats chats,
        CancellationToken cancellationToken)
    {
        if (!channelId.StartsWith(ChatLimits.ChannelPrefix, StringComparison.Ordinal)
            || !AppointmentsApi.IsValidAppointmentId(channelId[ChatLimits.ChannelPrefix.Length..]))
        {
            var errors = new RequestErrors();
            errors.Add("channelId", $"must be '{ChatLimits.ChannelPrefix}' followed by an appointment id.");
            return errors.ToProblem();
        }

        var chat = await record.ReadByChannelAsync(channelId, cancellationToken);
        if (chat?.Appointment is not { } appointment)
        {
            return caller.IsService ? ChatProblems.ChatNotFound.Result("No chat with this id exists.") : ChatProblems.CannotEnd.Result(ChannelNotOpenToYou);
        }

        if (!(caller.IsService || caller.IsAdminOf(appointment.OrganisationId) || caller.Id == appointment.VetId))
        {
            return ChatProblems.CannotEnd.Result(ChannelNotOpenToYou);
        }

        await chats.EndAsync(chat, caller.Id, cancellationToken);
        return TypedResults.Ok(new EndChannelResponse(true));
    }

    internal static async Task<Results<Ok<ChannelListResponse>, ValidationProblem, ProblemHttpResult>> List(
        [AsParameters] ListChannelsQuery query,
        CurrentUser caller,
        IChatReads reads,
        IOptions<ChatOptions> options,
        Organisations.PracticeSettingsReader practices,
        CancellationToken cancellationToken)
    {
        var errors = new RequestErrors();
        var parsed = query.Validate(errors);
        if (parsed is null)
        {
            return errors.ToProblem();
        }

        var (role, status, limit, cursor, unreadOnly) = parsed.Value;
        Task<List<ChatListRow>> PageAsync(ChatMembership membership, string memberId) =>
            reads.ListAsync(
                membership,
                memberId,
                status is { } wanted ? EnumNames<ChatStatus>.ToName(wanted) : null,
                cursor is { } after ? new ListPosition(after.LastActivityAt, after.AppointmentId) : null,
                limit + 1,
                caller.Id,
                unreadOnly,
                cancellationToken);

        List<ChatListRow> page;
        if (role == Roles.Vet)
        {
            page = await PageAsync(ChatMembership.Vet, caller.Id);
        }
        else if (role == Roles.PetOwner)
        {
            page = await PageAsync(ChatMembership.PetOwner, caller.Id);
        }
        else if (caller.IsAdmin && caller.OrganisationId is { } organisation)
        {
            page = await PageAsync(ChatMembership.Organisation, organisation);
        }
        else if (caller.IsService)
        {
            if (query.OrganisationId is not { Length: > 0 } requested || !StreamIds.IsValidUserId(requested))
            {
                errors.Add("organisationId", "is required for the service role: it has no chats of its own.");
                return errors.ToProblem();
            }

            page = await PageAsync(ChatMembership.Organisation, requested);
        }
        else
        {
            page = await PageAsync(ChatMembership.Either, caller.Id);
        }

        var more = page.Count > limit;
        // Each chat closes on its practice's grace; a page spans few practices, each read once (and cached).
        var windows = new Dictionary<string, ChatOptions>(StringComparer.Ordinal);
        var items = new List<ChannelListItem>(Math.Min(page.Count, limit));
        foreach (var row in page.Take(limit))
        {
            if (!windows.TryGetValue(row.OrganisationId, out var window))
            {
                window = options.Value.For(await practices.ForAsync(row.OrganisationId, cancellationToken));
                windows[row.OrganisationId] = window;
            }

            items.Add(Item(row, window));
        }

        var next = more ? new ChannelCursor(page[limit - 1].LastActivityAt, page[limit - 1].AppointmentId).Encode() : null;
        return TypedResults.Ok(new ChannelListResponse(items, next));
    }

    private static ChannelListItem Item(ChatListRow row, ChatOptions options)
    {
        var schedule = new Schedule(row.StartsAt, row.DurationMinutes, row.ChatActivationMinutes);
        return new(
            row.ChannelId,
            AppointmentChannel.Name(row.PetOwnerName),
            [row.PetOwnerId, row.VetId],
            row.LastMessageText,
            row.LastMessageAt?.ToUnixTimeMilliseconds(),
            row.AppointmentId,
            row.ChatStatus is { } status ? EnumNames<ChatStatus>.FromName(status) : ChatStatus.Pending,
            ChatWindow.ActivatesAt(schedule),
            ChatWindow.ClosesAt(schedule, options),
            row.UnreadCount,
            row.UnreadSince);
    }

    /// <summary>A listed chat's schedule, on the stack: the list builds one per chat.</summary>
    private readonly record struct Schedule(DateTimeOffset StartsAt, int DurationMinutes, int ChatActivationMinutes) : IChatSchedule;

    /// <summary>The pet owner and vet of the appointment, an admin of its organisation, or the service.</summary>
    private static bool CanOpen(CurrentUser caller, ChatFacts appointment) =>
        caller.IsService || caller.IsAdminOf(appointment.OrganisationId) || caller.Id == appointment.PetOwnerId || caller.Id == appointment.VetId;

    /// <summary>Why no chat may be created for the appointment now, if so.</summary>
    private static ProblemHttpResult? Refusal(ChatFacts appointment, DateTimeOffset now, ChatOptions options)
    {
        if (ChatWindow.StatusEndsChat(appointment.Status, options))
        {
            var kind = appointment.Status == AppointmentStatus.Cancelled ? ChatProblems.AppointmentCancelled : ChatProblems.AppointmentClosed;
            return kind.Result($"The appointment is {EnumNames<AppointmentStatus>.ToName(appointment.Status)}: it has no chat.");
        }

        return now >= ChatWindow.ClosesAt(appointment, options)
            ? ChatProblems.ChatWindowClosed.Result("The appointment's chat window has closed.")
            : null;
    }
}

/// <summary>The query string of <c>GET /api/chat/channels</c>, checked by hand so each bad value is named.</summary>
internal sealed record ListChannelsQuery(
    [property: FromQuery(Name = "role")] string? Role,
    [property: FromQuery(Name = "status")] string? Status,
    [property: FromQuery(Name = "limit")] string? Limit,
    [property: FromQuery(Name = "cursor")] string? Cursor,
    [property: FromQuery(Name = "organisationId")] string? OrganisationId,
    [property: FromQuery(Name = "unread")] string? Unread = null)
{
    public (string? Role, ChatStatus? Status, int Limit, ChannelCursor? Cursor, bool UnreadOnly)? Validate(RequestErrors errors)
    {
        if (Unread is not null and not ("true" or "false"))
        {
            errors.Add("unread", "must be 'true' or 'false'.");
        }

        if (Role is not null && Role is not (Roles.PetOwner or Roles.Vet))
        {
            errors.Add("role", $"must be '{Roles.PetOwner}' or '{Roles.Vet}'.");
        }

        ChatStatus? status = null;
        if (Status is not null)
        {
            if (EnumNames<ChatStatus>.TryParse(Status, out var parsed))
            {
                status = parsed;
            }
            else
            {
                errors.Add("status", $"must be one of: {EnumNames<ChatStatus>.AllowedList}.");
            }
        }

        var limit = ChannelsApi.DefaultPageSize;
        if (Limit is not null && (!int.TryParse(Limit, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > ChannelsApi.MaxPageSize))
        {
            errors.Add("limit", $"must be a whole number from 1 to {ChannelsApi.MaxPageSize}.");
        }

        ChannelCursor? cursor = null;
        if (Cursor is not null)
        {
            if (ChannelCursor.TryDecode(Cursor, out var decoded))
            {
                cursor = decoded;
            }
            else
            {
                errors.Add("cursor", "is not a cursor this endpoint returned.");
            }
        }

        return errors.Any ? null : (Role, status, limit, cursor, Unread == "true");
    }
}
