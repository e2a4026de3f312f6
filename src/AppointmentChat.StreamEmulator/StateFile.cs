using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AppointmentChat.StreamEmulator;

/// <summary>
/// Keeps the emulator's Stream app (users, channels, members, messages, reads) in a JSON file, so that a restart
/// changes nothing: Stream Cloud keeps its state across the service's restarts, and the service remembers in its own
/// database which users and channels it has already made there. Written atomically (a temporary file, then a rename)
/// shortly after each change and when the emulator stops; a crash loses at most the last <see cref="WriteDelay"/>.
/// Deleting the file while the emulator is stopped, or <c>POST _emulator/reset</c>, empties the app.
/// </summary>
public sealed partial class StateFile(EmulatorSettings settings, ChatStore store, ILogger<StateFile> logger) : BackgroundService
{
    /// <summary>How long after a change the file is written: changes in a burst are written once.</summary>
    public static readonly TimeSpan WriteDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The store's version last written (or loaded). Taken when the service is made, before the emulator serves anything:
    /// ExecuteAsync runs on the thread pool (.NET 10's BackgroundService), and a version read there could already include
    /// changes, which would then never be written.
    /// </summary>
    private long _written = store.Version;

    /// <summary>Reads the file into the store, if there is one; called once, before the emulator serves anything.</summary>
    public static void Load(string path, ChatStore store)
    {
        if (!File.Exists(path))
        {
            return;
        }

        try
        {
            using var stream = File.OpenRead(path);
            var state = JsonSerializer.Deserialize(stream, StateJsonContext.Default.StoredState)
                ?? throw new InvalidDataException("the file is empty");
            store.Import(state);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException(
                $"The Stream emulator's state file {path} cannot be read ({ex.Message}). Delete it to start with an empty Stream app.", ex);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.StateFile is not { } path)
        {
            return;
        }

        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await store.WaitForChangeAsync(_written, stoppingToken);
                await Task.Delay(WriteDelay, stoppingToken);
                Save(path);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping: StopAsync writes what is left
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (settings.StateFile is { } path && store.Version != _written)
        {
            Save(path);
        }
    }

    private void Save(string path)
    {
        var (state, version) = store.Export();
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var temporary = path + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                JsonSerializer.Serialize(stream, state, StateJsonContext.Default.StoredState);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            _written = version;
        }
        catch (IOException ex)
        {
            LogWriteFailed(logger, path, ex.Message); // tried again at the next change or stop
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write the Stream emulator's state to {Path}: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, string path, string reason);
}

/// <summary>The emulator's state as kept on disk.</summary>
public sealed record StoredState(int Format, List<StoredUser> Users, List<StoredChannel> Channels)
{
    public const int CurrentFormat = 1;
}

public sealed record StoredUser(
    string Id, string Role, JsonObject Custom, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    DateTimeOffset? RevokeTokensIssuedBefore, DateTimeOffset? LastActive);

public sealed record StoredChannel(
    string Type, string Id, string CreatedById, JsonObject Custom, bool Frozen, bool Disabled,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? LastMessageAt,
    List<StoredMember> Members, List<StoredMessage> Messages, List<StoredRead> Reads);

public sealed record StoredMember(string UserId, string ChannelRole, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record StoredMessage(
    string Id, string UserId, string Text, string Type, JsonArray Attachments, JsonObject Custom, bool Silent,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? DeletedAt);

public sealed record StoredRead(string UserId, DateTimeOffset At, string? MessageId);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StoredState))]
internal sealed partial class StateJsonContext : JsonSerializerContext;
