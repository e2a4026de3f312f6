using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

/// <summary>
/// <c>GET /connect</c>: the WebSocket the official client SDKs open in <c>connectUser</c>, with Stream's
/// handshake. The query carries <c>json</c> (<c>user_id</c>, <c>user_details</c>), <c>api_key</c>,
/// <c>authorization</c> (the user token) and <c>stream-auth-type=jwt</c>.
/// <list type="bullet">
/// <item>Accepted: the first frame is a <c>health.check</c> event with the <c>connection_id</c> the client
/// then sends with its REST calls and <c>me</c>, the connected user; a <c>health.check</c> answers every
/// ping the client sends and goes out unprompted every <see cref="EmulatorSettings.HealthCheckInterval"/>.</item>
/// <item>Refused (bad key, bad or expired or revoked token): one <c>connection.error</c> frame carrying
/// Stream's error body, then close code 1000, which the SDK takes as final — except for code 40 (expired),
/// on which it asks its <c>tokenProvider</c> for a new token and connects again.</item>
/// <item>Ended by the emulator (the token expires or is revoked while connected, the client is silent for
/// <see cref="EmulatorSettings.ConnectionIdleTimeout"/> or not reading): close code 1008, which the SDK
/// treats as a dropped connection — it reconnects (refreshing the token if told it expired) and recovers
/// the channels it watched. 1001 when the emulator stops.</item>
/// </list>
/// </summary>
public static partial class ClientSocket
{
    public const string Endpoint = "Connect";
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(2);

    public static void MapClientSocket(this IEndpointRouteBuilder routes)
    {
        // A pipeline of its own, so the emulator takes WebSockets whether or not its host uses the middleware.
        var connect = routes.CreateApplicationBuilder();
        connect.UseWebSockets();
        connect.Run(ConnectAsync);
        routes.MapGet("/connect", connect.Build());
    }

    private static async Task ConnectAsync(HttpContext http)
    {
        var services = http.RequestServices;
        var settings = services.GetRequiredService<EmulatorSettings>();
        var time = services.GetRequiredService<TimeProvider>();
        var store = services.GetRequiredService<ChatStore>();
        var calls = services.GetRequiredService<ApiCallLog>();
        if (!http.WebSockets.IsWebSocketRequest)
        {
            calls.Add(new ApiCall(Endpoint, http.Request.Method, http.Request.Path, 400, false, time.GetUtcNow()));
            await StreamApi.WriteAsync(http, 400, StreamErrors.Body(400, StreamCodes.Input, "Connect failed with error: \"this endpoint only accepts WebSocket connections\""));
            return;
        }

        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        StreamCaller caller;
        JsonObject me;
        try
        {
            (caller, var userDetails) = Authenticate(http, settings, time, store);
            me = store.ConnectUser(caller.UserId!, userDetails);
        }
        catch (StreamErrorException error)
        {
            calls.Add(new ApiCall(Endpoint, http.Request.Method, http.Request.Path, error.Status, false, time.GetUtcNow()));
            await RefuseAsync(socket, error, time.GetUtcNow(), http.RequestAborted);
            return;
        }

        calls.Add(new ApiCall(Endpoint, http.Request.Method, http.Request.Path, StatusCodes.Status101SwitchingProtocols, false, time.GetUtcNow()));
        var connections = services.GetRequiredService<ClientConnections>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ClientSocket));
        var connection = connections.Open(caller, time.GetUtcNow());
        LogOpened(logger, connection.Id, connection.UserId);
        try
        {
            var stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            using var onStop = stopping.Register(() => connection.Close(new CloseRequest(WebSocketCloseStatus.EndpointUnavailable, "the emulator is stopping")));
            connection.Send(new OutgoingFrame.Event(HealthCheck(connection, time.GetUtcNow(), me).ToJsonString(), IsHealthCheck: true));
            await ServeAsync(socket, connection, store, settings, time, http.RequestAborted);
        }
        finally
        {
            connections.Remove(connection);
            LogClosed(logger, connection.Id, connection.CloseRequested?.Reason ?? "closed by the client");
        }
    }

    /// <summary>Stream's checks (API key, auth type, a user token) and the connection payload in <c>json</c>.</summary>
    private static (StreamCaller Caller, JsonObject? UserDetails) Authenticate(HttpContext http, EmulatorSettings settings, TimeProvider time, ChatStore store)
    {
        var caller = StreamApi.Authenticate(http, settings, time, store);
        if (caller.IsServer)
        {
            throw new StreamErrorException(401, StreamCodes.Authentication, "Connect failed with error: \"a client connection needs a user token, not the server token\"");
        }

        JsonObject payload;
        try
        {
            payload = JsonNode.Parse(http.Request.Query["json"].ToString()) as JsonObject
                ?? throw StreamErrorException.Input(Endpoint, "json must be an object with user_id and user_details");
        }
        catch (JsonException)
        {
            throw StreamErrorException.Input(Endpoint, "json is a required field and must be valid JSON");
        }

        var details = payload["user_details"] as JsonObject;
        var userId = Text(payload["user_id"]) ?? Text(details?["id"])
            ?? throw StreamErrorException.Input(Endpoint, "user_id is a required field");
        if (details is not null && Text(details["id"]) is { } detailsId && detailsId != userId)
        {
            throw StreamErrorException.Input(Endpoint, "user_details.id must be the same as user_id");
        }

        if (userId != caller.UserId)
        {
            throw new StreamErrorException(401, StreamCodes.Authentication, $"Connect failed with error: \"the token is for user '{caller.UserId}', not '{userId}'\"");
        }

        return (caller, details);
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    /// <summary>One error frame, then a normal close: the SDK rejects <c>connectUser</c> with the error's code.</summary>
    private static async Task RefuseAsync(WebSocket socket, StreamErrorException error, DateTimeOffset now, CancellationToken aborted)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timeout.CancelAfter(CloseHandshakeTimeout);
        try
        {
            await SendTextAsync(socket, ErrorEvent(error, now).ToJsonString(), timeout.Token);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, $"connection refused: error code {error.Code}", timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            socket.Abort(); // the client went away first
        }
    }

    private static JsonObject HealthCheck(ClientConnection connection, DateTimeOffset now, JsonObject? me = null)
    {
        var json = new JsonObject
        {
            ["type"] = "health.check",
            ["connection_id"] = connection.Id,
            ["cid"] = "*",
            ["created_at"] = Wire.Time(now),
        };
        if (me is not null)
        {
            json["me"] = me;
        }

        return json;
    }

    private static JsonObject ErrorEvent(StreamErrorException error, DateTimeOffset now) => new()
    {
        ["type"] = "connection.error",
        ["error"] = error.ToBody(),
        ["created_at"] = Wire.Time(now),
    };

    private static ValueTask SendTextAsync(WebSocket socket, string json, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json).AsMemory(), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client connection {ConnectionId} opened for user {UserId}")]
    private static partial void LogOpened(ILogger logger, string connectionId, string userId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client connection {ConnectionId} ended: {Reason}")]
    private static partial void LogClosed(ILogger logger, string connectionId, string reason);
}
