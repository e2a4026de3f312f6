using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

// An accepted connection until it ends: a receive loop, a send loop, and the deadlines that end it.
public static partial class ClientSocket
{
    private const int MaxClientFrameBytes = 64 * 1024;
    private static readonly TimeSpan ClockJump = TimeSpan.FromMilliseconds(50);

    /// <summary>Runs the connection until either side ends it: one loop receives, one sends.</summary>
    private static async Task ServeAsync(WebSocket socket, ClientConnection connection, ChatStore store, EmulatorSettings settings, TimeProvider time, CancellationToken aborted)
    {
        using var broken = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var receiving = ReceiveAsync(socket, connection, time, broken.Token);
        var sending = SendAsync(socket, connection, store, settings, time, broken.Token);
        if (await Task.WhenAny(receiving, sending) == receiving && connection.CloseRequested is null)
        {
            await broken.CancelAsync(); // the client vanished without a close frame: nothing left to send
        }

        await sending;

        // Our close frame is out: give the client a moment to answer it.
        try
        {
            await receiving.WaitAsync(CloseHandshakeTimeout, CancellationToken.None);
        }
        catch (TimeoutException)
        {
            socket.Abort();
            await receiving;
        }
    }

    /// <summary>Reads the client's frames: any frame shows it is alive, and a <c>health.check</c> ping gets one back.</summary>
    private static async Task ReceiveAsync(WebSocket socket, ClientConnection connection, TimeProvider time, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    connection.Close(new CloseRequest(WebSocketCloseStatus.NormalClosure, "closed by the client"));
                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (message.Length > MaxClientFrameBytes)
                {
                    connection.Close(new CloseRequest(WebSocketCloseStatus.MessageTooBig, "client frames are at most 64 KB"));
                    return;
                }

                if (!result.EndOfMessage)
                {
                    continue;
                }

                var now = time.GetUtcNow();
                connection.HeardAt(now);
                if (result.MessageType == WebSocketMessageType.Text && IsHealthCheckPing(message))
                {
                    connection.Send(new OutgoingFrame.Event(HealthCheck(connection, now).ToJsonString(), IsHealthCheck: true));
                }

                message.SetLength(0);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The connection broke or was aborted: ServeAsync winds down.
        }
    }

    /// <summary>
    /// Sends queued frames in order, a <c>health.check</c> when one is due, and ends the connection when its
    /// token expires or is revoked or the client falls silent; finally the close frame.
    /// </summary>
    private static async Task SendAsync(WebSocket socket, ClientConnection connection, ChatStore store, EmulatorSettings settings, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            while (connection.CloseRequested is null)
            {
                var now = time.GetUtcNow();
                if (Ending(connection, settings, now) is { } ending)
                {
                    connection.Close(ending);
                    break;
                }

                if (now >= connection.LastHealthCheckAt + settings.HealthCheckInterval)
                {
                    connection.HealthCheckSentAt(now);
                    await SendTextAsync(socket, HealthCheck(connection, now).ToJsonString(), cancellationToken);
                    continue;
                }

                while (connection.CloseRequested is null && connection.Outbox.TryRead(out var frame))
                {
                    switch (frame)
                    {
                        case OutgoingFrame.Event { IsHealthCheck: true } healthCheck:
                            connection.HealthCheckSentAt(time.GetUtcNow());
                            await SendTextAsync(socket, healthCheck.Json, cancellationToken);
                            break;
                        case OutgoingFrame.Event evt:
                            await SendTextAsync(socket, evt.Json, cancellationToken);
                            break;
                        case OutgoingFrame.Recheck when StreamJwt.IsRevoked(connection.IssuedAt, store.RevokedBefore(connection.UserId)):
                            connection.Close(TokenEnded(StreamJwt.RevokedMessage, time.GetUtcNow()));
                            break;
                    }
                }

                if (connection.CloseRequested is not null)
                {
                    break;
                }

                // Sleep until a frame is queued, the connection is closed (the outbox completes), or the next deadline.
                var before = time.GetUtcNow();
                var wait = NextDeadline(connection, settings) - before;
                using var deadline = new CancellationTokenSource(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, time);
                if (time.GetUtcNow() - before > ClockJump)
                {
                    continue; // the clock jumped while the timer was set (a test's fake clock): the timer would be late
                }

                using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
                try
                {
                    await connection.Outbox.WaitToReadAsync(wake.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // A deadline: the top of the loop sees what is due.
                }
            }

            if (connection.CloseRequested is { } close)
            {
                if (close.ErrorFrame is { } error)
                {
                    await SendTextAsync(socket, error.ToJsonString(), cancellationToken);
                }

                await socket.CloseOutputAsync(close.Status, close.Reason, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The connection broke or was aborted.
        }
    }

    private static CloseRequest? Ending(ClientConnection connection, EmulatorSettings settings, DateTimeOffset now)
    {
        if (connection.ExpiresAt is { } expires && now > expires + StreamJwt.Leeway)
        {
            return TokenEnded("JWTAuth error: token has expired", now);
        }

        return now >= connection.LastHeardAt + settings.ConnectionIdleTimeout
            ? new CloseRequest(WebSocketCloseStatus.PolicyViolation, "no health check from the client")
            : null;
    }

    private static DateTimeOffset NextDeadline(ClientConnection connection, EmulatorSettings settings)
    {
        var next = Min(connection.LastHealthCheckAt + settings.HealthCheckInterval, connection.LastHeardAt + settings.ConnectionIdleTimeout);
        return connection.ExpiresAt is { } expires ? Min(next, expires + StreamJwt.Leeway + TimeSpan.FromMilliseconds(1)) : next;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>Code 40 tells the SDK to get a new token from its <c>tokenProvider</c> before it reconnects.</summary>
    private static CloseRequest TokenEnded(string message, DateTimeOffset now) => new(
        WebSocketCloseStatus.PolicyViolation,
        "token expired or revoked",
        ErrorEvent(new StreamErrorException(401, StreamCodes.TokenExpired, message), now));

    /// <summary>The SDKs ping with <c>[{"type":"health.check","client_id":…}]</c>.</summary>
    private static bool IsHealthCheckPing(MemoryStream message)
    {
        try
        {
            var frame = JsonNode.Parse(message.GetBuffer().AsSpan(0, (int)message.Length));
            IEnumerable<JsonNode?> events = frame is JsonArray array ? array : [frame];
            return events.Any(e => e is JsonObject obj && Text(obj["type"]) == "health.check");
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
