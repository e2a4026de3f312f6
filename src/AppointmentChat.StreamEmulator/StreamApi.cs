using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

/// <summary>A call the emulator answered, for tests that check which Stream calls a path makes.</summary>
public sealed record ApiCall(string Endpoint, string Method, string Path, int Status, bool IsServer, DateTimeOffset At);

/// <summary>
/// The Stream REST API the service uses and the calls the official client SDKs make with a user token,
/// with Stream's authentication, status codes, error bodies and rate-limit headers. Every handler goes
/// through <see cref="HandleAsync"/>.
/// </summary>
public static class StreamApi
{
    public static void MapStreamApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/app", (HttpContext http, EmulatorSettings settings, UploadStore uploads) =>
            HandleAsync(http, "GetApp", 200, (caller, _) =>
            {
                StreamRules.RequireServer("GetApp", caller);
                var app = new JsonObject { ["name"] = "stream-emulator", ["organization"] = "local", ["webhook_url"] = settings.WebhookUrl?.ToString() ?? "" };
                uploads.WriteSettings(app);
                return new JsonObject { ["app"] = app };
            }));
        routes.MapPatch("/app", (HttpContext http, UploadStore uploads) =>
            HandleAsync(http, "UpdateApp", 201, (caller, body) => uploads.UpdateSettings(caller, body)));
        routes.MapPost("/users", (HttpContext http, ChatStore store) =>
            HandleAsync(http, "UpdateUsers", 201, (caller, body) => store.UpsertUsers(caller, body["users"] as JsonObject)));
        routes.MapGet("/users", (HttpContext http, ChatStore store) =>
            HandleAsync(http, "QueryUsers", 200, (_, _) => store.QueryUsers(
                JsonNode.Parse(http.Request.Query["payload"].ToString() is { Length: > 0 } payload ? payload : "{}") as JsonObject
                ?? throw StreamErrorException.Input("QueryUsers", "payload must be a JSON object"))));
        routes.MapPatch("/users", (HttpContext http, ChatStore store) =>
            HandleAsync(http, "UpdateUsersPartial", 200, (caller, body) => store.PartialUpdateUsers(caller, body["users"] as JsonArray)));
        routes.MapDelete("/users/{id}", (HttpContext http, ChatStore store, string id) =>
            HandleAsync(http, "DeleteUser", 200, (caller, _) => store.DeleteUser(caller, id, UserDeletion.From(http.Request.Query))));

        routes.MapPost("/channels", (HttpContext http, ChatStore store, ClientConnections connections) =>
            HandleAsync(http, "QueryChannels", 201, (caller, body) =>
                store.QueryChannels(caller, body, Watcher(http, "QueryChannels", caller, body, connections))));
        routes.MapPost("/channels/{type}/{id}/query", (HttpContext http, ChatStore store, ClientConnections connections, string type, string id) =>
            HandleAsync(http, "GetOrCreateChannel", 201, (caller, body) => store.GetOrCreateChannel(
                caller, type, id, body["data"] as JsonObject,
                Watcher(http, "GetOrCreateChannel", caller, body, connections),
                MessagePage.Parse("GetOrCreateChannel", body["messages"])).State));
        routes.MapPost("/channels/{type}/{id}/stop-watching", (HttpContext http, ClientConnections connections, string type, string id) =>
            HandleAsync(http, "StopWatchingChannel", 201, (caller, _) =>
            {
                if (!caller.IsServer)
                {
                    connections.StopWatching(connections.RequireOwn("StopWatchingChannel", http.Request.Query["connection_id"], caller.UserId!), $"{type}:{id}");
                }

                return [];
            }));
        routes.MapPost("/channels/{type}/{id}/read", (HttpContext http, ChatStore store, string type, string id) =>
            HandleAsync(http, "MarkRead", 201, (caller, body) => store.MarkRead(caller, type, id, body)));
        routes.MapPost("/channels/{type}/{id}/unread", (HttpContext http, ChatStore store, string type, string id) =>
            HandleAsync(http, "MarkUnread", 201, (caller, body) => store.MarkUnread(caller, type, id, body)));
        routes.MapPost("/channels/{type}/{id}/event", (HttpContext http, ChatStore store, string type, string id) =>
            HandleAsync(http, "SendEvent", 201, (caller, body) => store.SendEvent(caller, type, id, body["event"] as JsonObject)));
        routes.MapPost("/channels/{type}/{id}", (HttpContext http, ChatStore store, string type, string id) =>
            HandleAsync(http, "UpdateChannel", 201, (caller, body) => store.UpdateChannel(caller, type, id, body)));
        routes.MapPatch("/channels/{type}/{id}", (HttpContext http, ChatStore store, string type, string id) =>
            HandleAsync(http, "UpdateChannelPartial", 200, (caller, body) => store.PartialUpdateChannel(caller, type, id, body["set"] as JsonObject, body["unset"] as JsonArray)));
        routes.MapDelete("/channels/{type}/{id}", (HttpContext http, ChatStore store, string type, string id) =>
            HandleAsync(http, "DeleteChannel", 200, (caller, _) => store.DeleteChannel(caller, type, id)));

        routes.MapPost("/channels/{type}/{id}/message", (HttpContext http, ChatStore store, string type, string id) =>
            HandleAsync(http, "SendMessage", 201, (caller, body) => store.SendMessage(caller, type, id, body["message"] as JsonObject)));
        routes.MapPost("/messages/{id}", (HttpContext http, ChatStore store, string id) =>
            HandleAsync(http, "UpdateMessage", 201, (caller, body) => store.UpdateMessage(caller, id, body["message"] as JsonObject)));
        routes.MapDelete("/messages/{id}", (HttpContext http, ChatStore store, string id) =>
            HandleAsync(http, "DeleteMessage", 200, (caller, _) => store.DeleteMessage(caller, id)));

        routes.MapPost("/channels/{type}/{id}/file", (HttpContext http, ChatStore store, UploadStore uploads, TimeProvider time, string type, string id) =>
            HandleAsync(http, "UploadFile", 201, caller => uploads.UploadAsync(http, caller, store, type, id, image: false, time)));
        routes.MapPost("/channels/{type}/{id}/image", (HttpContext http, ChatStore store, UploadStore uploads, TimeProvider time, string type, string id) =>
            HandleAsync(http, "UploadImage", 201, caller => uploads.UploadAsync(http, caller, store, type, id, image: true, time)));

        // The uploads' URLs, as Stream's CDN serves them: anyone holding the URL gets the bytes (its id is unguessable,
        // as the CDN's signed URLs are).
        routes.MapGet("/uploads/{uploadId}/{name}", (UploadStore uploads, string uploadId, string name) =>
            uploads.Find(uploadId) is { } upload && upload.FileName == name
                ? Results.File(upload.Bytes, upload.ContentType)
                : Results.Json(StreamErrors.Body(404, StreamCodes.DoesNotExist, "no such upload"), statusCode: 404));
    }

    /// <summary>
    /// Rate-limit headers, injected faults, authentication, the JSON body, the operation, and the answer:
    /// <paramref name="successStatus"/> with a <c>duration</c>, or Stream's error body.
    /// </summary>
    public static Task HandleAsync(HttpContext http, string endpoint, int successStatus, Func<StreamCaller, JsonObject, JsonObject> operation) =>
        HandleAsync(http, endpoint, successStatus, async caller => operation(caller, await ReadBodyAsync(http)));

    /// <summary><see cref="HandleAsync(HttpContext, string, int, Func{StreamCaller, JsonObject, JsonObject})"/> for an operation that reads the request itself (a multipart upload).</summary>
    public static async Task HandleAsync(HttpContext http, string endpoint, int successStatus, Func<StreamCaller, Task<JsonObject>> operation)
    {
        var services = http.RequestServices;
        var settings = services.GetRequiredService<EmulatorSettings>();
        var clock = services.GetRequiredService<TimeProvider>();
        var started = Stopwatch.GetTimestamp();
        var caller = (StreamCaller?)null;
        var status = 500;
        try
        {
            var fault = services.GetRequiredService<FaultInjector>().Take(http.Request.Method, http.Request.Path);
            if (fault is not null && await ApplyFaultBeforeAsync(http, fault, clock))
            {
                status = http.Response.StatusCode;
                return;
            }

            caller = Authenticate(http, settings, clock, services.GetRequiredService<ChatStore>());
            var verdict = services.GetRequiredService<RateLimitCounter>().Count(endpoint, Platform(http, caller), caller.IsServer ? null : caller.UserId);
            http.Response.Headers["X-RateLimit-Limit"] = verdict.Limit.ToString(CultureInfo.InvariantCulture);
            http.Response.Headers["X-RateLimit-Remaining"] = Math.Max(0, verdict.Remaining).ToString(CultureInfo.InvariantCulture);
            http.Response.Headers["X-RateLimit-Reset"] = verdict.Reset.ToString(CultureInfo.InvariantCulture);
            if (verdict.Refused)
            {
                throw new StreamErrorException(429, StreamCodes.RateLimit, "Too many requests, check response headers for more information.");
            }

            var result = await operation(caller);

            if (fault is { Kind: FaultKind.ErrorAfterApply or FaultKind.DropAfterApply })
            {
                await ApplyFaultBeforeAsync(http, fault with { Kind = fault.Kind == FaultKind.DropAfterApply ? FaultKind.Drop : FaultKind.Error }, clock);
                status = http.Response.StatusCode;
                return;
            }

            result["duration"] = Duration(started);
            status = successStatus;
            await WriteAsync(http, successStatus, result);
        }
        catch (StreamErrorException error)
        {
            status = error.Status;
            var body = error.ToBody();
            body["duration"] = Duration(started);
            await WriteAsync(http, error.Status, body);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == 413)
        {
            status = 413;
            await WriteAsync(http, 413, StreamErrors.Body(413, StreamCodes.PayloadTooBig, $"{endpoint} failed with error: \"the request body is larger than Stream takes\""));
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or InvalidDataException)
        {
            // A field of the wrong JSON type: Stream answers such payloads with an input error.
            status = 400;
            await WriteAsync(http, 400, StreamErrors.Body(400, StreamCodes.Input, $"{endpoint} failed with error: \"invalid request payload: {ex.Message}\""));
        }
        finally
        {
            services.GetRequiredService<ApiCallLog>().Add(new ApiCall(endpoint, http.Request.Method, http.Request.Path, status, caller?.IsServer ?? false, clock.GetUtcNow()));
        }
    }

    /// <summary>
    /// The client connection a user's query asks to watch with (<c>watch: true</c> and the <c>connection_id</c>
    /// query parameter the SDKs add to every call); none for server calls, which have no connection.
    /// </summary>
    private static ClientConnection? Watcher(HttpContext http, string operation, StreamCaller caller, JsonObject body, ClientConnections connections) =>
        !caller.IsServer && body["watch"]?.GetValueKind() == JsonValueKind.True
            ? connections.RequireOwn(operation, http.Request.Query["connection_id"], caller.UserId!)
            : null;

    /// <summary>
    /// The platform whose counters a call uses (rate_limits.md: server, web, iOS and Android count apart): the server
    /// token is the server; a user's call is told by the SDK's <c>X-Stream-Client</c> header.
    /// </summary>
    private static string Platform(HttpContext http, StreamCaller caller)
    {
        if (caller.IsServer)
        {
            return "server";
        }

        var client = http.Request.Headers["X-Stream-Client"].ToString();
        return client.Contains("android", StringComparison.OrdinalIgnoreCase) ? "android"
            : client.Contains("ios", StringComparison.OrdinalIgnoreCase) || client.Contains("swift", StringComparison.OrdinalIgnoreCase) ? "ios"
            : "web";
    }

    /// <summary>Stream's three checks: the API key, the auth type, and a token signed with the secret.</summary>
    public static StreamCaller Authenticate(HttpContext http, EmulatorSettings settings, TimeProvider clock, ChatStore store)
    {
        var apiKey = http.Request.Query["api_key"].ToString();
        if (apiKey.Length == 0 || apiKey != settings.ApiKey)
        {
            throw new StreamErrorException(401, StreamCodes.AccessKey, "api_key not found");
        }

        var authType = http.Request.Headers["Stream-Auth-Type"].ToString();
        if (authType.Length == 0 && http.Request.Query.TryGetValue("stream-auth-type", out var queryAuthType))
        {
            authType = queryAuthType.ToString();
        }

        if (authType != "jwt")
        {
            throw new StreamErrorException(401, StreamCodes.Authentication, "Stream-Auth-Type header is missing or not supported (expected jwt)");
        }

        var token = http.Request.Headers.Authorization.ToString();
        if (token.Length == 0 && http.Request.Query.TryGetValue("authorization", out var queryToken))
        {
            token = queryToken.ToString();
        }

        return StreamJwt.Verify(token, settings.ApiSecret, clock.GetUtcNow(), store.RevokedBefore);
    }

    private static async Task<bool> ApplyFaultBeforeAsync(HttpContext http, FaultRule fault, TimeProvider clock)
    {
        switch (fault.Kind)
        {
            case FaultKind.Delay:
                await Task.Delay(TimeSpan.FromMilliseconds(fault.DelayMilliseconds), clock, http.RequestAborted);
                return false;
            case FaultKind.Drop:
                http.Abort();
                return true;
            case FaultKind.Error:
                if (fault.RetryAfterSeconds is { } retryAfter)
                {
                    http.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                }

                if (fault.ResetInSeconds is { } resetIn)
                {
                    http.Response.Headers["X-RateLimit-Remaining"] = "0";
                    http.Response.Headers["X-RateLimit-Reset"] = (clock.GetUtcNow().ToUnixTimeSeconds() + resetIn).ToString(CultureInfo.InvariantCulture);
                }

                var code = fault.Status switch { 429 => StreamCodes.RateLimit, 408 => StreamCodes.RequestTimeout, >= 500 => StreamCodes.Internal, _ => StreamCodes.Input };
                await WriteAsync(http, fault.Status, StreamErrors.Body(fault.Status, code, $"injected fault: {fault.Status}"));
                return true;
            default:
                return false; // the after-apply kinds act once the operation has run
        }
    }

    private static async Task<JsonObject> ReadBodyAsync(HttpContext http)
    {
        if (http.Request.ContentLength is 0 || HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsDelete(http.Request.Method))
        {
            return [];
        }

        try
        {
            var node = await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            return node as JsonObject ?? throw new StreamErrorException(400, StreamCodes.Input, "request body must be a JSON object");
        }
        catch (JsonException)
        {
            throw new StreamErrorException(400, StreamCodes.Input, "request body is not valid JSON");
        }
    }

    public static async Task WriteAsync(HttpContext http, int status, JsonObject body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        await using var writer = new Utf8JsonWriter(http.Response.Body);
        body.WriteTo(writer);
        await writer.FlushAsync(http.RequestAborted);
    }

    private static string Duration(long started) =>
        Stopwatch.GetElapsedTime(started).TotalMilliseconds.ToString("0.00", CultureInfo.InvariantCulture) + "ms";
}

/// <summary>The most recent calls to the Stream API (bounded).</summary>
public sealed class ApiCallLog
{
    private const int MaxRemembered = 50_000;
    private readonly ConcurrentQueue<ApiCall> _calls = new();

    public IReadOnlyCollection<ApiCall> Calls => _calls;

    public void Add(ApiCall call)
    {
        _calls.Enqueue(call);
        while (_calls.Count > MaxRemembered && _calls.TryDequeue(out _))
        {
        }
    }

    public void Clear() => _calls.Clear();
}
