using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AppointmentChat.Api.Unread;

/// <summary><c>GET /api/chat/unread</c>: the caller's unread totals, for a badge, in one call.</summary>
internal static class UnreadApi
{
    public static RouteGroupBuilder MapUnread(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chat/unread").WithTags("Channels").RequireAuthorization()
            .ProducesProblems(StatusCodes.Status401Unauthorized);

        group.MapGet("/", GetTotals)
            .WithName("getUnreadTotals")
            .ProducesProblems(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("The caller's unread messages across their chats, and how many chats have any")
            .WithDescription("Counts are kept from Stream's webhooks (message.new, message.read, notification.mark_read, notification.mark_unread, message.deleted) and repaired from Stream's read state by the catch-up pass.")
            .WithResponseExample(StatusCodes.Status200OK, new UnreadTotals(5, 2));

        return group;
    }

    internal static async Task<Ok<UnreadTotals>> GetTotals(CurrentUser caller, ChatDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok(await db.UnreadTotalsAsync(caller.Id, cancellationToken));
}
