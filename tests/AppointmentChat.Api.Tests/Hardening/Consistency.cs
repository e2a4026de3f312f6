using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>
/// Whether the database and Stream (the emulator) tell the same story about every chat: each chat the database
/// records exists in Stream with the members, status and frozen flag recorded (and, once ended, exactly one end
/// message), and each appointment channel in Stream is recorded in the database — no half-created chat either way.
/// </summary>
internal static class Consistency
{
    public static Task<List<string>> DifferencesAsync(ServiceWithEmulator stack) => DifferencesAsync(stack.App, stack.Emulator);

    public static async Task<List<string>> DifferencesAsync(ChatApp app, EmulatorHost emulator)
    {
        var chats = await app.InDatabaseAsync(db => db.Chats.Include(c => c.Appointment).AsNoTracking().ToListAsync());
        var now = app.Now;
        var differences = new List<string>();
        var recorded = chats.Where(a => a.ChannelId is not null).ToDictionary(a => a.ChannelId!, StringComparer.Ordinal);

        foreach (var a in chats)
        {
            if (a.SyncDue <= now || a.LeaseUntil > now)
            {
                differences.Add($"{a.AppointmentId}: the scheduler still has work on it (due {a.SyncDue:O}, attempts {a.SyncAttempts}, {a.SyncError})");
            }
            else if (a.ChannelId is null && a.SyncDue is not null)
            {
                differences.Add($"{a.AppointmentId}: a chat's creation was begun and is neither recorded nor repaired yet");
            }
            else if (a.EndedAt is not null && a.Status != ChatStatus.Ended)
            {
                differences.Add($"{a.AppointmentId}: its chat's end was decided and is not applied yet");
            }
        }

        foreach (var cid in emulator.Store.ChannelIds().Where(c => c.StartsWith("messaging:appointment-", StringComparison.Ordinal)))
        {
            if (!recorded.ContainsKey(cid["messaging:".Length..]))
            {
                differences.Add($"{cid}: in Stream, but the database records no chat for it");
            }
        }

        foreach (var a in recorded.Values)
        {
            differences.AddRange(Compare(emulator, a));
        }

        return differences;
    }

    /// <summary>Waits until the two agree (the scheduler repairs what a fault left), failing with the differences left.</summary>
    public static Task AgreeAsync(ServiceWithEmulator stack, TimeSpan within) => AgreeAsync(stack.App, stack.Emulator, within);

    public static async Task AgreeAsync(ChatApp app, EmulatorHost emulator, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        List<string> differences;
        while ((differences = await DifferencesAsync(app, emulator)).Count > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"The database and Stream still disagree after {within.TotalSeconds} s:{Environment.NewLine}{string.Join(Environment.NewLine, differences.Take(20))}"
                    + Environment.NewLine + await HistoryAsync(app, emulator, differences));
            }

            await Task.Delay(250);
        }
    }

    /// <summary>For a failure message: the rows at fault and every Stream call about their channels, in order.</summary>
    private static async Task<string> HistoryAsync(ChatApp app, EmulatorHost emulator, List<string> differences)
    {
        var history = new System.Text.StringBuilder();
        var chats = await app.InDatabaseAsync(db => db.Chats.Include(c => c.Appointment).AsNoTracking().ToListAsync());
        foreach (var a in chats.Where(a => differences.Any(d => d.Contains(a.AppointmentId, StringComparison.Ordinal))).Take(3))
        {
            history.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"{a.AppointmentId}: status {a.Appointment.Status}, chat {a.Status}, frozen {a.Frozen}, ended {a.EndedAt:O} by {a.EndedBy}, version {a.Version}, due {a.SyncDue:O}, attempts {a.SyncAttempts} {a.SyncError}, starts {a.Appointment.StartsAt:O}");
            foreach (var call in emulator.Calls.Where(c => c.Path.Contains(ChatLimitsChannel(a.AppointmentId), StringComparison.Ordinal)).OrderBy(c => c.At))
            {
                history.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"  {call.At:HH:mm:ss.fff} {call.Endpoint} {call.Method} {call.Status}");
            }

            foreach (var line in app.Logs.Lines.Where(l => l.Message.Contains(a.AppointmentId, StringComparison.Ordinal)).Take(30))
            {
                history.AppendLine("  log: " + line.Message);
            }
        }

        return history.ToString();
    }

    private static string ChatLimitsChannel(string appointmentId) => "appointment-" + appointmentId;

    private static IEnumerable<string> Compare(EmulatorHost emulator, Chat a)
    {
        var snapshot = emulator.Store.ChannelSnapshot("messaging", a.ChannelId!);
        if (snapshot is null)
        {
            yield return $"{a.ChannelId}: recorded as a chat ({a.Status}), but Stream has no such channel";
            yield break;
        }

        var channel = snapshot["channel"]!;
        var members = snapshot["members"]!.AsArray().Select(m => m!["user_id"]!.GetValue<string>()).Order().ToList();
        var recordedMembers = new[] { a.ChannelPetOwnerId, a.ChannelVetId }.OfType<string>().Order().ToList();
        // An ended chat keeps the members it ended with; a live one follows the appointment's people.
        var wanted = new[] { a.Appointment.PetOwnerId, a.Appointment.VetId }.Order();
        if (!members.SequenceEqual(recordedMembers) || (a.Status != ChatStatus.Ended && !members.SequenceEqual(wanted)))
        {
            yield return $"{a.ChannelId}: Stream's members are [{string.Join(", ", members)}], the database's [{string.Join(", ", recordedMembers)}], the appointment's [{a.Appointment.PetOwnerId}, {a.Appointment.VetId}]";
        }

        var status = channel["custom"]?["status"]?.ToString();
        var recordedStatus = a.Status is { } s ? EnumNames<ChatStatus>.ToName(s) : null;
        if (status != recordedStatus)
        {
            yield return $"{a.ChannelId}: Stream says {status}, the database {recordedStatus}";
        }

        var frozen = channel["frozen"]!.GetValue<bool>();
        if (frozen != a.Frozen || frozen != (a.Status != ChatStatus.Active))
        {
            yield return $"{a.ChannelId}: frozen in Stream {frozen}, in the database {a.Frozen}, status {recordedStatus}";
        }

        var endMessages = snapshot["messages"]!.AsArray().Count(m => m!["id"]?.ToString() == a.ChannelId + "-ended");
        if (endMessages != (a.Status == ChatStatus.Ended ? 1 : 0))
        {
            yield return $"{a.ChannelId}: {endMessages} end message(s) in Stream for a chat the database has {recordedStatus}";
        }
    }
}
