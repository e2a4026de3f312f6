using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AppointmentChat.StreamEmulator;

/// <summary>
/// The emulator's own control surface under <c>/_emulator</c>, apart from the Stream API: inspect and
/// reset state, act as a client, read the webhooks sent, inject faults. Callers present the server
/// token, like a Stream server call.
/// </summary>
public static class ControlApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };

    public static void MapControlApi(this IEndpointRouteBuilder routes)
    {
        var control = routes.MapGroup("/_emulator").AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var services = http.RequestServices;
            try
            {
                var caller = StreamApi.Authenticate(http, services.GetRequiredService<EmulatorSettings>(), services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ChatStore>());
                if (!caller.IsServer)
                {
                    throw new StreamErrorException(403, StreamCodes.NotAllowed, "the control API needs the server token");
                }
            }
            catch (StreamErrorException error)
            {
                return Results.Json(error.ToBody(), statusCode: error.Status);
            }

            return await next(context);
        });

        control.MapPost("/reset", (ChatStore store, WebhookDispatcher webhooks, ApiCallLog calls, FaultInjector faults, RateLimitCounter limits, UploadStore uploads) =>
        {
            store.Reset();
            webhooks.Forget();
            calls.Clear();
            faults.Clear();
            limits.Reset();
            uploads.Reset();
            return Results.Ok(new { reset = true });
        });

        control.MapGet("/state", (ChatStore store) =>
        {
            var (users, channels, messages) = store.Counts();
            return Results.Ok(new { users, channels, messages });
        });

        control.MapGet("/channels", (ChatStore store) => Results.Ok(new { channels = store.ChannelIds() }));

        control.MapGet("/channels/{type}/{id}", (ChatStore store, string type, string id) =>
            store.ChannelSnapshot(type, id) is { } snapshot
                ? Results.Text(snapshot.ToJsonString(), "application/json")
                : Results.Json(StreamErrors.Body(404, StreamCodes.DoesNotExist, $"Channel '{type}:{id}' does not exist"), statusCode: 404));

        control.MapGet("/users/{id}", (ChatStore store, string id) =>
            store.FindUser(id) is { } user
                ? Results.Text(Wire.User(user).ToJsonString(), "application/json")
                : Results.Json(StreamErrors.Body(404, StreamCodes.DoesNotExist, $"user {id} does not exist"), statusCode: 404));

        // Sends as the user would from an app: membership and frozen channels apply, and webhooks fire.
        control.MapPost("/channels/{type}/{id}/messages", async (HttpContext http, ChatStore store, string type, string id) =>
        {
            var body = await JsonNode.ParseAsync(http.Request.Body) as JsonObject ?? [];
            var userId = body["user_id"]?.GetValue<string>();
            if (string.IsNullOrEmpty(userId))
            {
                return Results.Json(StreamErrors.Body(400, StreamCodes.Input, "user_id is required"), statusCode: 400);
            }

            body.Remove("user_id");
            try
            {
                var result = store.SendMessage(new StreamCaller(false, userId, null), type, id, body);
                return Results.Text(result.ToJsonString(), "application/json", statusCode: 201);
            }
            catch (StreamErrorException error)
            {
                return Results.Json(error.ToBody(), statusCode: error.Status);
            }
        });

        control.MapGet("/webhooks", (WebhookDispatcher webhooks, string? type) => Results.Ok(new
        {
            webhooks = webhooks.Deliveries
                .Where(d => type is null || d.EventType == type)
                .Select(d => new { webhookId = d.WebhookId, type = d.EventType, cid = d.Cid, outcome = d.Outcome, attempts = d.Attempts.ToArray() }),
        }));

        control.MapGet("/calls", (ApiCallLog calls, string? endpoint) => Results.Ok(new
        {
            calls = calls.Calls.Where(c => endpoint is null || c.Endpoint == endpoint),
        }));

        control.MapPost("/webhooks/redeliver", (WebhookDispatcher webhooks) => Results.Ok(new { redelivered = webhooks.Redeliver() }));

        control.MapPut("/settings", async (HttpContext http, EmulatorSettings settings, TimeProvider time) =>
        {
            var update = await http.Request.ReadFromJsonAsync<SettingsUpdate>(Json) ?? new SettingsUpdate();
            if (update.WebhookUrl is not null)
            {
                settings.WebhookUrl = update.WebhookUrl.Length == 0 ? null : new Uri(update.WebhookUrl);
            }

            settings.EnforceRateLimits = update.EnforceRateLimits ?? settings.EnforceRateLimits;
            if (update.DropWebhooksForSeconds is { } drop)
            {
                settings.DropWebhooksUntil = drop > 0 ? time.GetUtcNow().AddSeconds(drop) : null;
            }

            if (update.RateLimits is { } limits)
            {
                if (limits.Any(l => l.Value < 1))
                {
                    return Results.Json(StreamErrors.Body(400, StreamCodes.Input, "rate limits must be at least 1 a minute"), statusCode: 400);
                }

                settings.RateLimits = limits; // replaces every override; {} restores the documented limits
            }

            settings.WebhookMaxAttempts = update.WebhookMaxAttempts ?? settings.WebhookMaxAttempts;
            settings.WebhookRetryDelay = update.WebhookRetryDelayMs is { } delay ? TimeSpan.FromMilliseconds(delay) : settings.WebhookRetryDelay;
            settings.WebhookAttemptTimeout = update.WebhookAttemptTimeoutMs is { } timeout ? TimeSpan.FromMilliseconds(timeout) : settings.WebhookAttemptTimeout;
            return Results.Ok(new
            {
                webhookUrl = settings.WebhookUrl?.ToString(),
                settings.EnforceRateLimits,
                rateLimits = settings.RateLimits,
                dropWebhooksUntil = settings.DropWebhooksUntil,
                settings.WebhookMaxAttempts,
                webhookRetryDelayMs = settings.WebhookRetryDelay.TotalMilliseconds,
                webhookAttemptTimeoutMs = settings.WebhookAttemptTimeout.TotalMilliseconds,
            });
        });

        control.MapPost("/faults", async (HttpContext http, FaultInjector faults) =>
        {
            var rule = await http.Request.ReadFromJsonAsync<FaultRule>(Json);
            if (rule is null)
            {
                return Results.Json(StreamErrors.Body(400, StreamCodes.Input, "a fault rule is required"), statusCode: 400);
            }

            faults.Add(rule);
            return Results.Ok(rule);
        });

        control.MapDelete("/faults", (FaultInjector faults) =>
        {
            faults.Clear();
            return Results.Ok(new { cleared = true });
        });
    }

    private sealed record SettingsUpdate(string? WebhookUrl = null, bool? EnforceRateLimits = null, Dictionary<string, int>? RateLimits = null, double? DropWebhooksForSeconds = null, int? WebhookMaxAttempts = null, int? WebhookRetryDelayMs = null, int? WebhookAttemptTimeoutMs = null);
}
