namespace AppointmentChat.StreamEmulator;

/// <summary>
/// The emulator's in-memory Stream app: users, channels, members and messages, with Stream's rules.
/// One lock guards all state; events are published after it is released. Which client connections
/// watch which channel is <see cref="ClientConnections"/>' business; queries register watchers there.
/// Its parts: users, channels, messages, queries, event payloads, and the state file's export/import;
/// input checks are <see cref="StreamRules"/>, the filter language is <see cref="ChannelQuery"/>.
/// </summary>
public sealed partial class ChatStore(TimeProvider time, IEnumerable<IEventSink> sinks, ClientConnections connections)
{
    public const int MaxMessageLength = 5000;
    public const int MaxCustomDataBytes = 5 * 1024;
    public const int MaxQueryLimit = 30;
    public const int MaxQueryUsersLimit = 100;
    public const int MessagesPerState = 25;
    public const int MaxMessagesPerState = 300;

    private readonly Lock _gate = new();
    private readonly IEventSink[] _sinks = [.. sinks];
    private readonly Dictionary<string, EmulatedUser> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EmulatedChannel> _channels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (EmulatedChannel Channel, EmulatedMessage Message)> _messages = new(StringComparer.Ordinal);
    private long _version;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Counts the writes to the state, so <see cref="StateFile"/> knows when there is something to keep.</summary>
    public long Version => Interlocked.Read(ref _version);

    public void Reset()
    {
        lock (_gate)
        {
            _users.Clear();
            _channels.Clear();
            _messages.Clear();
        }

        Changed();
    }

    /// <summary>Completes once <see cref="Version"/> is no longer <paramref name="seen"/>.</summary>
    public async Task WaitForChangeAsync(long seen, CancellationToken cancellationToken)
    {
        while (Version == seen)
        {
            var changed = Volatile.Read(ref _changed);
            if (Version != seen)
            {
                return;
            }

            await changed.Task.WaitAsync(cancellationToken);
        }
    }

    private void Changed()
    {
        Interlocked.Increment(ref _version);
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Every write ends here, once its lock is released: the change is counted, then its events go out.</summary>
    private void Publish(IReadOnlyList<EmulatorEvent> events)
    {
        Changed();
        foreach (var evt in events)
        {
            foreach (var sink in _sinks)
            {
                sink.Publish(evt);
            }
        }
    }

    private EmulatedUser? FindUserLocked(string id) => _users.GetValueOrDefault(id);

    private EmulatedChannel RequireChannel(string op, string type, string id) =>
        _channels.TryGetValue(Cid(type, id), out var channel)
            ? channel
            : throw StreamErrorException.NotFound(op, $"Channel '{Cid(type, id)}' does not exist");

    private static string Cid(string type, string id) => $"{type}:{id}";
}
