using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// A Stream client connection as the official SDKs open it (<c>/connect?json=…&amp;api_key=…&amp;authorization=…
/// &amp;stream-auth-type=jwt</c>), written independently of the emulator: it records every frame the server
/// sends and how the server closed the socket.
/// </summary>
public sealed class StreamSocket : IAsyncDisposable
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(10);

    private readonly ClientWebSocket _socket;
    private readonly Channel<JsonObject> _frames = Channel.CreateUnbounded<JsonObject>();
    private readonly Task _reading;

    private StreamSocket(ClientWebSocket socket)
    {
        _socket = socket;
        _reading = ReadAsync();
    }

    /// <summary>How the server closed the connection, once it has.</summary>
    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    /// <param name="streamBaseUrl">Stream's base URL (the emulator's root, or the service's <c>/stream/</c>).</param>
    public static async Task<StreamSocket> ConnectAsync(Uri streamBaseUrl, string userId, string token, string apiKey = EmulatorHost.ApiKey, JsonObject? userDetails = null)
    {
        var payload = new JsonObject
        {
            ["user_id"] = userId,
            ["user_details"] = userDetails ?? new JsonObject { ["id"] = userId },
            ["client_request_id"] = Guid.NewGuid().ToString(),
        };
        var url = new UriBuilder(new Uri(streamBaseUrl, "connect"))
        {
            Scheme = streamBaseUrl.Scheme == Uri.UriSchemeHttps ? "wss" : "ws",
            Query = $"json={Uri.EscapeDataString(payload.ToJsonString())}&api_key={Uri.EscapeDataString(apiKey)}&authorization={Uri.EscapeDataString(token)}&stream-auth-type=jwt",
        };
        var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(DefaultWait);
        await socket.ConnectAsync(url.Uri, timeout.Token);
        return new StreamSocket(socket);
    }

    /// <summary>Connects and returns the greeting, which must be a <c>health.check</c>.</summary>
    public static async Task<(StreamSocket Socket, JsonObject Hello)> OpenAsync(Uri streamBaseUrl, string userId, string token, JsonObject? userDetails = null)
    {
        var socket = await ConnectAsync(streamBaseUrl, userId, token, userDetails: userDetails);
        var hello = await socket.NextAsync();
        Assert.True(hello["type"]?.GetValue<string>() == "health.check", $"expected a health.check greeting, got {hello.ToJsonString()}");
        return (socket, hello);
    }

    /// <summary>The next frame the server sent.</summary>
    public async Task<JsonObject> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultWait);
        try
        {
            return await _frames.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("No frame arrived in time.");
            throw;
        }
        catch (ChannelClosedException)
        {
            Assert.Fail($"The connection closed ({CloseStatus}) before another frame arrived.");
            throw;
        }
    }

    /// <summary>Frames up to and including the first of <paramref name="type"/>.</summary>
    public async Task<(JsonObject Frame, List<JsonObject> Before)> NextOfTypeAsync(string type, TimeSpan? timeout = null)
    {
        var before = new List<JsonObject>();
        var deadline = DateTime.UtcNow + (timeout ?? DefaultWait);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            var frame = await NextAsync(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
            if (frame["type"]?.GetValue<string>() == type)
            {
                return (frame, before);
            }

            before.Add(frame);
        }
    }

    /// <summary>What the SDKs send every 25 s: <c>[{"type":"health.check","client_id":…}]</c>.</summary>
    public Task PingAsync() =>
        SendAsync(new JsonArray(new JsonObject { ["type"] = "health.check", ["client_id"] = "test-client" }).ToJsonString());

    /// <summary>
    /// Pings and returns every frame that arrived before the answer. Frames on one connection are in order,
    /// so anything sent to this connection before the ping was answered is among them.
    /// </summary>
    public async Task<List<JsonObject>> FramesBeforeNextPingAnswerAsync()
    {
        await PingAsync();
        return (await NextOfTypeAsync("health.check")).Before;
    }

    public async Task SendAsync(string text)
    {
        using var timeout = new CancellationTokenSource(DefaultWait);
        await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, timeout.Token);
    }

    /// <summary>Waits for the server to close the connection; returns how, and every frame not yet read.</summary>
    public async Task<(WebSocketCloseStatus? Status, List<JsonObject> Frames)> ClosedAsync(TimeSpan? timeout = null)
    {
        await _reading.WaitAsync(timeout ?? DefaultWait);
        var frames = new List<JsonObject>();
        while (_frames.Reader.TryRead(out var frame))
        {
            frames.Add(frame);
        }

        return (CloseStatus, frames);
    }

    public async Task CloseAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(DefaultWait);
            await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        }

        await _reading.WaitAsync(DefaultWait);
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                    }

                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    _frames.Writer.TryWrite(JsonNode.Parse(message.ToArray())!.AsObject());
                    message.SetLength(0);
                }
            }
        }
        catch (WebSocketException)
        {
            // the server dropped the connection without a close frame; CloseStatus stays null
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                await CloseAsync();
            }
            catch (Exception ex) when (ex is WebSocketException or TimeoutException or OperationCanceledException)
            {
                _socket.Abort();
            }
        }

        _socket.Dispose();
    }
}
