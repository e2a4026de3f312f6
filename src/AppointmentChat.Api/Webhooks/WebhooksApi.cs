using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Stream;
using Microsoft.AspNetCore.Http.Features;
using AppointmentChat.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Webhooks;

/// <summary>
/// <c>POST /api/webhooks/stream</c>: verify, store once, acknowledge — fast, with no Stream call, push or
/// heavy work before the 200 (Stream waits about 6 s). Processing happens in <see cref="WebhookProcessor"/>.
/// </summary>
internal static partial class WebhooksApi
{
    private const int MaxDeadPage = 500;
    private const int DefaultDeadPage = 50;

    private static readonly DeadEvent ExampleDeadEvent = new(
        42, "id:8f3c2a1e-webhook-id", "message.new", "appointment-apt-1", new DateTimeOffset(2030, 1, 15, 13, 5, 0, TimeSpan.Zero), 8,
        "DbUpdateException: the chat's row could not be written");

    public static RouteGroupBuilder MapWebhooks(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/webhooks").WithTags("Webhooks");

        group.MapPost("/stream", Receive)
            .WithName("receiveStreamWebhook")
            .AllowAnonymous() // authenticated by Stream's signature instead of a bearer token
            .Accepts<JsonElement>("application/json")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status413PayloadTooLarge,
                StatusCodes.Status415UnsupportedMediaType, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Receive a webhook from Stream (signed with X-Signature)")
            .WithRequestExample(JsonDocument.Parse("""{"type":"message.new","cid":"messaging:appointment-apt-1","channel_id":"appointment-apt-1","message":{"id":"m-1","text":"See you soon","user":{"id":"vet-1"}},"user":{"id":"vet-1"}}""").RootElement)
            .WithResponseExample(StatusCodes.Status200OK, new WebhookAck(true));

        group.MapGet("/dead", ListDead)
            .WithName("listDeadWebhooks")
            .RequireAuthorization(AuthSetup.ServicePolicy)
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Events that kept failing, parked with their error (service role)")
            .DocumentsQueryInteger("limit", 1, MaxDeadPage, DefaultDeadPage, "How many events to list, newest first.")
            .WithResponseExample(StatusCodes.Status200OK, new DeadEventsResponse([ExampleDeadEvent]));

        group.MapPost("/dead/{eventId:long}/retry", Retry)
            .WithName("retryDeadWebhook")
            .RequireAuthorization(AuthSetup.ServicePolicy)
            .ProducesProblems(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Queue a parked event for processing again (service role)")
            .WithResponseExample(StatusCodes.Status200OK, ExampleDeadEvent with { Attempts = 0 });

        group.MapPost("/catch-up", CatchUp)
            .WithName("requestCatchUp")
            .RequireAuthorization(AuthSetup.ServicePolicy)
            .ProducesProblems(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden)
            .WithSummary("Ask Stream now for messages whose webhook was lost, e.g. after an outage (service role)")
            .WithResponseExample(StatusCodes.Status202Accepted, new CatchUpRequested(true));

        return group;
    }

    /// <summary>Wakes this instance's catch-up pass (it runs unless another instance is running one) and answers at once.</summary>
    internal static Accepted<CatchUpRequested> CatchUp(StreamCatchUpSignal signal)
    {
        signal.Wake();
        return TypedResults.Accepted((string?)null, new CatchUpRequested(true));
    }

    internal static async Task<Results<Ok<WebhookAck>, ProblemHttpResult>> Receive(
        HttpContext http,
        WebhookSignature signature,
        InboxWriter inbox,
        WebhookProcessorSignal processor,
        IOptions<WebhookOptions> webhookOptions,
        IOptions<StreamOptions> streamOptions,
        TimeProvider time,
        Infrastructure.ChatMetrics metrics,
        ILogger<WebhookProcessor> logger)
    {
        var limit = webhookOptions.Value.MaxBodyBytes;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null; // this endpoint enforces its own limit, compressed or not
        }

        var request = http.Request;
        var encoding = request.Headers.ContentEncoding.ToString();
        var gzipped = string.Equals(encoding, "gzip", StringComparison.OrdinalIgnoreCase);
        if (!gzipped && encoding.Length > 0 && !string.Equals(encoding, "identity", StringComparison.OrdinalIgnoreCase))
        {
            return Rejected(metrics, logger, StatusCodes.Status415UnsupportedMediaType, "The webhook body must be sent as is or gzip-compressed (Content-Encoding: gzip).");
        }

        if (request.ContentLength > limit)
        {
            return Rejected(metrics, logger, StatusCodes.Status413PayloadTooLarge, $"The webhook body is larger than {limit} bytes.");
        }

        var body = await ReadAtMostAsync(request.Body, limit, http.RequestAborted);
        if (body is null)
        {
            return Rejected(metrics, logger, StatusCodes.Status413PayloadTooLarge, $"The webhook body is larger than {limit} bytes.");
        }

        // Stream may compress a webhook without saying so in Content-Encoding: its SDKs recognise gzip by its magic bytes
        // (stream-chat-js src/signing.ts gunzipPayload; stream-chat-go GunzipPayload, GetStream/stream-chat-go#391) and check
        // the signature over the uncompressed body. A JSON body never starts with 0x1f.
        if (gzipped || body is [0x1f, 0x8b, ..])
        {
            try
            {
                await using var gzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
                body = await ReadAtMostAsync(gzip, limit, http.RequestAborted);
            }
            catch (InvalidDataException)
            {
                return Rejected(metrics, logger, StatusCodes.Status400BadRequest, "The webhook body is not valid gzip.");
            }

            if (body is null)
            {
                return Rejected(metrics, logger, StatusCodes.Status413PayloadTooLarge, $"The decompressed webhook body is larger than {limit} bytes.");
            }
        }

        if (!signature.IsValid(body, request.Headers["X-Signature"]))
        {
            return Rejected(metrics, logger, StatusCodes.Status401Unauthorized, "The webhook signature (X-Signature) does not match the body.");
        }

        var apiKey = request.Headers["X-Api-Key"].ToString();
        if (apiKey.Length > 0 && !string.Equals(apiKey, streamOptions.Value.ApiKey, StringComparison.Ordinal))
        {
            return Rejected(metrics, logger, StatusCodes.Status401Unauthorized, "The webhook is for another Stream app (X-Api-Key).");
        }

        // Stored as text and processed later: bytes that are not UTF-8 would be silently replaced, so the
        // event processed would not be the event signed.
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            return Rejected(metrics, logger, StatusCodes.Status400BadRequest, "The webhook body is not valid UTF-8.");
        }

        string eventType;
        string? channelId;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Rejected(metrics, logger, StatusCodes.Status400BadRequest, "The webhook body must be a JSON object.");
            }

            eventType = Text(document.RootElement, "type", 100) ?? "unknown";
            channelId = Text(document.RootElement, "channel_id", 64);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string escape that is not valid UTF-16 (a lone surrogate).
            return Rejected(metrics, logger, StatusCodes.Status400BadRequest, "The webhook body is not valid JSON.");
        }

        var webhookId = request.Headers["X-Webhook-Id"].ToString();
        var dedupKey = webhookId.Length is > 0 and <= InboxEvent.MaxDedupKeyLength - 3
            ? "id:" + webhookId
            : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));

        var now = time.GetUtcNow();
        var stored = await inbox.TryStoreAsync(new InboxEvent
        {
            DedupKey = dedupKey,
            EventType = eventType,
            ChannelId = channelId,
            Payload = Encoding.UTF8.GetString(body),
            ReceivedAt = now,
            NextAttemptAt = now,
        }, http.RequestAborted);
        if (!stored)
        {
            // A redelivery (same X-Webhook-Id, any attempt): acknowledged, not processed again.
            metrics.WebhooksDuplicates.Add(1);
            LogDuplicate(logger, eventType, dedupKey);
            return TypedResults.Ok(new WebhookAck(true, Duplicate: true));
        }

        metrics.WebhooksReceived.Add(1, new KeyValuePair<string, object?>("type", eventType));
        metrics.InboxReceived(now);
        processor.Wake();
        return TypedResults.Ok(new WebhookAck(true));
    }

    internal static async Task<Results<Ok<DeadEventsResponse>, ValidationProblem>> ListDead(
        DeadWebhooks dead, [FromQuery(Name = "limit")] string? limit, CancellationToken cancellationToken)
    {
        var take = DefaultDeadPage;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out take) || take is < 1 or > MaxDeadPage))
        {
            var errors = new RequestErrors();
            errors.Add("limit", $"must be a whole number from 1 to {MaxDeadPage}.");
            return errors.ToProblem();
        }

        var events = await dead.ListAsync(take, cancellationToken);
        return TypedResults.Ok(new DeadEventsResponse(events));
    }

    internal static async Task<Results<Ok<DeadEvent>, ProblemHttpResult>> Retry(long eventId, DeadWebhooks dead, CancellationToken cancellationToken) =>
        await dead.RetryAsync(eventId, cancellationToken) is { } retried
            ? TypedResults.Ok(retried)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: "No parked event with this id.");

    /// <summary>The whole stream, or null when it holds more than <paramref name="limit"/> bytes.</summary>
    private static async Task<byte[]?> ReadAtMostAsync(System.IO.Stream source, int limit, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Min(limit + 1, 16 * 1024));
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var read = await source.ReadAsync(memory, cancellationToken);
            if (read == 0)
            {
                return buffer.WrittenSpan.ToArray();
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                return null;
            }
        }
    }

    /// <summary>A top-level string field for the inbox's columns: without control characters (PostgreSQL refuses NUL in text), and cut to fit.</summary>
    private static string? Text(JsonElement root, string name, int maxLength)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String || value.GetString() is not { } text)
        {
            return null;
        }

        if (text.Any(char.IsControl))
        {
            text = string.Concat(text.Where(c => !char.IsControl(c)));
        }

        return text.Length > maxLength ? text[..maxLength] : text;
    }

    private static ProblemHttpResult Rejected(Infrastructure.ChatMetrics metrics, ILogger logger, int status, string detail)
    {
        metrics.WebhooksRejected.Add(1, new KeyValuePair<string, object?>("status", status));
        LogRejected(logger, status, detail);
        return TypedResults.Problem(statusCode: status, detail: detail);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook rejected with {Status}: {Reason}")]
    private static partial void LogRejected(ILogger logger, int status, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {EventType} {DedupKey} was already received; not processed again")]
    private static partial void LogDuplicate(ILogger logger, string eventType, string dedupKey);
}

internal sealed record WebhookAck(bool Ok, bool? Duplicate = null);

internal sealed record DeadEvent(long Id, string DedupKey, string EventType, string? ChannelId, DateTimeOffset ReceivedAt, int Attempts, string? Error);

internal sealed record DeadEventsResponse(IReadOnlyList<DeadEvent> Events);
