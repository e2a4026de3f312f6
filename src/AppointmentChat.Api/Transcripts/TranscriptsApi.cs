using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;

namespace AppointmentChat.Api.Transcripts;

/// <summary><c>GET /api/chat/channels/{channelId}/transcript</c>: the conversation for the clinical record, as JSON or a printable page.</summary>
internal static class TranscriptsApi
{
    public const string Html = "html";
    public const string Json = "json";

    // The same answer for "not yours" and "does not exist", so ids cannot be probed.
    private const string NotOpenToYou = "No chat with this id has a transcript you may read.";

    /// <summary>Not the chat's vet, an admin of its organisation or the service — or no such chat.</summary>
    public static readonly ApiProblem CannotRead = new("cannot-read-transcript", StatusCodes.Status403Forbidden, "Forbidden");

    public static RouteGroupBuilder MapTranscripts(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chat/channels").WithTags("Transcripts").RequireAuthorization()
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized);

        group.MapGet("/{channelId}/transcript", Get)
            .WithName("getChatTranscript")
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                // The same 200 as a page: text, not JSON (Results<> documents the JSON body only).
                if (ApiNulls.Get(operation.Responses, "200")?.Content is { } content)
                {
                    content["text/html"] = new OpenApiMediaType
                    {
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                        Example = TranscriptHtml.Render(TranscriptExamples.Transcript),
                    };
                }

                return Task.CompletedTask;
            })
            .ProducesProblems(StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status502BadGateway, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("The chat's whole conversation for the clinical record: JSON, or a printable HTML page")
            .WithDescription("For the appointment's vet, an admin of its organisation, or the service. Every message, oldest first, times in the " +
                "organisation's time zone; attachments by link; deleted messages marked, without their text. Accept: text/html (or ?format=html) " +
                "answers a self-contained page with print CSS for the PMS to file or print to PDF.")
            .DocumentsQueryChoice("format", [Json, Html], "json (the default) or html; without it, Accept: text/html chooses the page.")
            .WithResponseExample(StatusCodes.Status200OK, TranscriptExamples.Transcript);
        return group;
    }

    internal static async Task<Results<Ok<TranscriptResponse>, ContentHttpResult, ValidationProblem, ProblemHttpResult>> Get(
        string channelId,
        [FromQuery(Name = "format")] string? format,
        CurrentUser caller,
        ChatRecord record,
        TranscriptReader reader,
        HttpContext context,
        CancellationToken cancellationToken)
    {
        var errors = new RequestErrors();
        if (!channelId.StartsWith(ChatLimits.ChannelPrefix, StringComparison.Ordinal)
            || !AppointmentsApi.IsValidAppointmentId(channelId[ChatLimits.ChannelPrefix.Length..]))
        {
            errors.Add("channelId", $"must be '{ChatLimits.ChannelPrefix}' followed by an appointment id.");
        }

        if (format is not (null or Json or Html))
        {
            errors.Add("format", $"must be '{Json}' or '{Html}'.");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var chat = await record.ReadByChannelAsync(channelId, cancellationToken);
        if (chat?.Appointment is not { } appointment)
        {
            return caller.IsService ? ChatProblems.ChatNotFound.Result("No chat with this id exists.") : CannotRead.Result(NotOpenToYou);
        }

        if (!(caller.IsService || caller.IsAdminOf(appointment.OrganisationId) || caller.Id == appointment.VetId))
        {
            return CannotRead.Result(NotOpenToYou);
        }

        var transcript = await reader.ReadAsync(chat, cancellationToken);
        if ((format ?? Preferred(context.Request)) == Html)
        {
            context.Response.Headers.ContentSecurityPolicy = TranscriptHtml.ContentSecurityPolicy;
            return TypedResults.Content(TranscriptHtml.Render(transcript), "text/html; charset=utf-8");
        }

        return TypedResults.Ok(transcript);
    }

    /// <summary>html when the Accept header prefers text/html to JSON (a browser's does), else json.</summary>
    private static string Preferred(HttpRequest request)
    {
        double Quality(string mediaType) => request.GetTypedHeaders().Accept
            .Where(a => a.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase))
            .Select(a => a.Quality ?? 1)
            .DefaultIfEmpty(0)
            .Max();

        var html = Quality("text/html");
        return html > 0 && html > Quality("application/json") ? Html : Json;
    }
}
