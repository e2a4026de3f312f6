using System.Net.WebSockets;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace AppointmentChat.StreamEmulator;

/// <summary>A frame waiting to go out on a client connection.</summary>
internal abstract record OutgoingFrame
{
    /// <summary>An event, serialized once for every connection it goes to.</summary>
    public sealed record Event(string Json, bool IsHealthCheck = false) : OutgoingFrame;

    /// <summary>Look at the token again (the user's tokens may have been revoked).</summary>
    public sealed record Recheck : OutgoingFrame;
}

/// <summary>Why and how the emulator ends a client connection.</summary>
/// <param name="ErrorFrame">Sent before the close frame, as Stream sends its error event.</param>
internal sealed record CloseRequest(WebSocketCloseStatus Status, string Reason, JsonObject? ErrorFrame = null);

/// <summary>
/// One client WebSocket: whose it is, the token it was opened with, and the frames waiting to be sent.
/// Frames are queued because only one writer may use a WebSocket at a time; a client that falls too far
/// behind is disconnected, as Stream does (it recovers its state when it reconnects).
/// </summary>
public sealed class ClientConnection
{
    private const int MaxQueuedFrames = 1000;

    private readonly Channel<OutgoingFrame> _outbox = Channel.CreateBounded<OutgoingFrame>(
        new BoundedChannelOptions(MaxQueuedFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private CloseRequest? _closeRequest;
    private long _lastHeardTicks;
    private long _lastHealthCheckTicks;

    internal ClientConnection(string id, StreamCaller caller, DateTimeOffset openedAt)
    {
        Id = id;
        UserId = caller.UserId!;
        IssuedAt = caller.IssuedAt;
        ExpiresAt = caller.ExpiresAt;
        _lastHeardTicks = _lastHealthCheckTicks = openedAt.UtcTicks;
    }

    /// <summary>The <c>connection_id</c> the client sends with every REST call.</summary>
    public string Id { get; }

    public string UserId { get; }

    public DateTimeOffset? IssuedAt { get; }

    public DateTimeOffset? ExpiresAt { get; }

    internal ChannelReader<OutgoingFrame> Outbox => _outbox.Reader;

    /// <summary>Set once the emulator has decided to end the connection.</summary>
    internal CloseRequest? CloseRequested => Volatile.Read(ref _closeRequest);

    /// <summary>When the client last sent a frame (it pings every 25 s).</summary>
    internal DateTimeOffset LastHeardAt => new(Interlocked.Read(ref _lastHeardTicks), TimeSpan.Zero);

    /// <summary>When the emulator last sent a <c>health.check</c>.</summary>
    internal DateTimeOffset LastHealthCheckAt => new(Interlocked.Read(ref _lastHealthCheckTicks), TimeSpan.Zero);

    internal void HeardAt(DateTimeOffset now) => Interlocked.Exchange(ref _lastHeardTicks, now.UtcTicks);

    internal void HealthCheckSentAt(DateTimeOffset now) => Interlocked.Exchange(ref _lastHealthCheckTicks, now.UtcTicks);

    internal void Send(OutgoingFrame frame)
    {
        if (!_outbox.Writer.TryWrite(frame))
        {
            Close(new CloseRequest(WebSocketCloseStatus.PolicyViolation, "the client is not reading its events"));
        }
    }

    /// <summary>Ends the connection; the first request wins. Completing the outbox wakes the sending loop.</summary>
    internal void Close(CloseRequest request)
    {
        if (Interlocked.CompareExchange(ref _closeRequest, request, null) is null)
        {
            _outbox.Writer.TryComplete();
        }
    }
}

/// <summary>
/// The open client connections and the channels each one watches. Every event the emulator raises about a
/// channel reaches the connections watching it; a connection watches a channel once its user queried it
/// with <c>watch: true</c> and the connection's id, and only members may do that.
/// </summary>
public sealed class ClientConnections : IEventSink
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ClientConnection> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<ClientConnection>> _watchers = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byId.Count;
            }
        }
    }

    public ClientConnection Open(StreamCaller caller, DateTimeOffset now)
    {
        var connection = new ClientConnection(Guid.NewGuid().ToString(), caller, now);
        lock (_gate)
        {
            _byId[connection.Id] = connection;
        }

        return connection;
    }

    public void Remove(ClientConnection connection)
    {
        lock (_gate)
        {
            _byId.Remove(connection.Id);
            foreach (var (cid, watchers) in _watchers.ToList())
            {
                if (watchers.Remove(connection) && watchers.Count == 0)
                {
                    _watchers.Remove(cid);
                }
            }
        }
    }

    /// <summary>
    /// The connection a REST call names in <c>connection_id</c>. Someone else's connection is as unknown as
    /// a closed one: Stream's ConnectionIDNotFoundError (code 46).
    /// </summary>
    public ClientConnection RequireOwn(string operation, string? connectionId, string userId)
    {
        if (string.IsNullOrEmpty(connectionId))
        {
            throw StreamErrorException.Input(operation, "connection_id is required to watch a channel");
        }

        lock (_gate)
        {
            if (_byId.TryGetValue(connectionId, out var connection) && connection.UserId == userId)
            {
                return connection;
            }
        }

        throw new StreamErrorException(400, StreamCodes.ConnectionIdNotFound, $"{operation} failed with error: \"connection_id {connectionId} not found\"");
    }

    public IReadOnlyList<ClientConnection> Of(string userId)
    {
        lock (_gate)
        {
            return [.. _byId.Values.Where(c => c.UserId == userId)];
        }
    }

    /// <summary>Starts sending <paramref name="cid"/>'s events to <paramref name="connection"/> (the caller checked membership).</summary>
    public void Watch(ClientConnection connection, string cid)
    {
        lock (_gate)
        {
            if (!_byId.ContainsKey(connection.Id))
            {
                return; // closed in the meantime
            }

            if (!_watchers.TryGetValue(cid, out var watchers))
            {
                _watchers[cid] = watchers = [];
            }

            watchers.Add(connection);
        }
    }

    public void StopWatching(ClientConnection connection, string cid)
    {
        lock (_gate)
        {
            if (_watchers.TryGetValue(cid, out var watchers) && watchers.Remove(connection) && watchers.Count == 0)
            {
                _watchers.Remove(cid);
            }
        }
    }

    public bool IsWatching(ClientConnection connection, string cid)
    {
        lock (_gate)
        {
            return _watchers.TryGetValue(cid, out var watchers) && watchers.Contains(connection);
        }
    }

    /// <summary>How many users watch the channel, as Stream counts <c>watcher_count</c>.</summary>
    public int WatcherCount(string cid)
    {
        lock (_gate)
        {
            return _watchers.TryGetValue(cid, out var watchers) ? watchers.Select(c => c.UserId).Distinct(StringComparer.Ordinal).Count() : 0;
        }
    }

    public void Publish(EmulatorEvent emulatorEvent)
    {
        // A changed user may have had their tokens revoked: their connections check theirs again.
        if (emulatorEvent is { Type: "user.updated", Cid: null } && emulatorEvent.Payload["user"]?["id"]?.GetValue<string>() is { } userId)
        {
            foreach (var connection in Of(userId))
            {
                connection.Send(new OutgoingFrame.Recheck());
            }

            return;
        }

        if (emulatorEvent.Cid is not { } cid)
        {
            return;
        }

        ClientConnection[] targets;
        lock (_gate)
        {
            if (!_watchers.TryGetValue(cid, out var watchers))
            {
                return;
            }

            targets = [.. watchers];

            // A removed member stops receiving the channel's events (after hearing of the removal); a deleted channel has no watchers.
            if (emulatorEvent.Type == "member.removed" && emulatorEvent.Payload["member"]?["user_id"]?.GetValue<string>() is { } removed)
            {
                watchers.RemoveWhere(c => c.UserId == removed);
            }
            else if (emulatorEvent.Type == "channel.deleted")
            {
                watchers.Clear();
            }

            if (watchers.Count == 0)
            {
                _watchers.Remove(cid);
            }
        }

        var frame = new OutgoingFrame.Event(emulatorEvent.Payload.ToJsonString());
        foreach (var connection in targets)
        {
            connection.Send(frame);
        }
    }
}
