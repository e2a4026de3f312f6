using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Notifications;

/// <summary>The caller's devices for push notifications.</summary>
internal static class DevicesApi
{
    private static readonly DeviceResponse Example = new("fMEP0vJqS0:APA91bHqX-example-registration-token", DevicePlatform.Android);

    public static RouteGroupBuilder MapDevices(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/devices").WithTags("Devices").RequireAuthorization()
            .ProducesProblems(StatusCodes.Status401Unauthorized);

        group.MapPost("/", Register)
            .WithName("registerDevice")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status415UnsupportedMediaType, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Register a device (FCM token) for the caller's push notifications")
            .WithDescription("Idempotent. A token registered by another user moves to the caller. Past the per-user limit the oldest device is dropped.")
            .WithRequestExample(Example)
            .WithResponseExample(StatusCodes.Status201Created, Example)
            .WithResponseExample(StatusCodes.Status200OK, Example);

        group.MapDelete("/{token}", Unregister)
            .WithName("unregisterDevice")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Remove one of the caller's devices");

        return group;
    }

    internal static async Task<Results<Created<DeviceResponse>, Ok<DeviceResponse>, ValidationProblem, ProblemHttpResult>> Register(
        DeviceRequest request,
        CurrentUser caller,
        ChatDbContext db,
        TimeProvider time,
        IOptions<PushOptions> options,
        CancellationToken cancellationToken)
    {
        var errors = new RequestErrors();
        if (request.Validate(errors) is not { } valid)
        {
            return errors.ToProblem();
        }

        if (!CallerIds.HasChatIdentity(caller))
        {
            return NoChatIdentity();
        }

        var (token, platform) = valid;

        // A token belongs to one app install; registered again by someone else, it is theirs now (201 for them).
        var created = await db.UpsertDeviceAsync(token, caller.Id, platform, time.GetUtcNow(), cancellationToken);
        await DropOldestAsync(db, caller.Id, options.Value.MaxDevicesPerUser, cancellationToken);
        var response = new DeviceResponse(token, platform);
        return created ? TypedResults.Created($"/api/devices/{Uri.EscapeDataString(token)}", response) : TypedResults.Ok(response);
    }

    internal static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> Unregister(string token, CurrentUser caller, ChatDbContext db, CancellationToken cancellationToken)
    {
        var errors = new RequestErrors();
        if (!DeviceRequest.IsValidToken(token))
        {
            errors.Add("token", DeviceRequest.TokenRule);
            return errors.ToProblem();
        }

        if (!CallerIds.HasChatIdentity(caller))
        {
            return NoChatIdentity();
        }

        var removed = await db.Set<Device>().Where(d => d.Token == token && d.UserId == caller.Id).ExecuteDeleteAsync(cancellationToken);

        // Someone else's token and an unknown one look the same.
        return removed == 0
            ? DeviceNotFound.Result("You have no device with this token.")
            : TypedResults.NoContent();
    }

    /// <summary>Devices are for people in chats (pushes go to chat members): a caller whose id is no Stream user id has none.</summary>
    private static ProblemHttpResult NoChatIdentity() =>
        CallerIds.NotAChatUser.Result($"Devices belong to people in chats, and this caller's id is not one: {CallerIds.ChatIdentityRule}");

    private static readonly ApiProblem DeviceNotFound = new("device-not-found", StatusCodes.Status404NotFound, "Device not found");

    private static async Task DropOldestAsync(ChatDbContext db, string userId, int keep, CancellationToken cancellationToken)
    {
        var surplus = await db.Set<Device>().Where(d => d.UserId == userId)
            .OrderByDescending(d => d.UpdatedAt).ThenByDescending(d => d.Token)
            .Skip(keep)
            .Select(d => d.Token)
            .ToListAsync(cancellationToken);
        if (surplus.Count > 0)
        {
            await db.Set<Device>().Where(d => d.UserId == userId && surplus.Contains(d.Token)).ExecuteDeleteAsync(cancellationToken);
        }
    }
}

internal sealed record DeviceRequest(string? Token, DevicePlatform? Platform)
{
    public (string Token, DevicePlatform Platform)? Validate(RequestErrors errors)
    {
        if (string.IsNullOrEmpty(Token))
        {
            errors.Add("token", "is required.");
        }
        else if (!IsValidToken(Token))
        {
            errors.Add("token", TokenRule);
        }

        if (Platform is null)
        {
            errors.Add("platform", $"is required: one of {EnumNames<DevicePlatform>.AllowedList}.");
        }

        return errors.Any ? null : (Token!, Platform!.Value);
    }

    public static readonly string TokenRule = $"must be 1 to {Device.MaxTokenLength} printable ASCII characters without spaces (an FCM registration token).";

    public static bool IsValidToken(string token) =>
        token.Length is > 0 and <= Device.MaxTokenLength && !token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c > '\u007e');
}

internal sealed record DeviceResponse(string Token, DevicePlatform Platform);
