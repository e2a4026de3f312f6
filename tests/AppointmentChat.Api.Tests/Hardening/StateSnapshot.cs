using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Webhooks;
using System.Text.Json;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>
/// Everything a request could change, as text: every row of every table, and how many calls Stream (the
/// emulator) has answered. Two equal snapshots mean a request changed nothing and called no one.
/// </summary>
internal sealed record StateSnapshot(string Database, int StreamCalls)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static async Task<StateSnapshot> TakeAsync(ServiceWithEmulator stack)
    {
        var database = await stack.App.InDatabaseAsync(async db =>
        {
            var tables = new Dictionary<string, object>
            {
                ["appointments"] = await db.Appointments.AsNoTracking().OrderBy(a => a.Id).ToListAsync(),
                ["chat_users"] = await db.ChatUsers.AsNoTracking().OrderBy(u => u.Id).ToListAsync(),
                ["devices"] = await db.Devices.AsNoTracking().OrderBy(d => d.Token).ToListAsync(),
                ["webhook_inbox"] = await db.InboxEvents.AsNoTracking().OrderBy(e => e.Id).ToListAsync(),
                ["notification_outbox"] = await db.Notifications.AsNoTracking().OrderBy(n => n.Id).ToListAsync(),
                ["push_deliveries"] = await db.PushDeliveries.AsNoTracking().OrderBy(d => d.Id).ToListAsync(),
            };
            return JsonSerializer.Serialize(tables, Json);
        });
        return new StateSnapshot(database, stack.Emulator.Calls.Count);
    }

    /// <summary>The first difference, in words, or null when there is none.</summary>
    public string? DifferenceFrom(StateSnapshot before)
    {
        if (StreamCalls != before.StreamCalls)
        {
            return $"Stream was called {StreamCalls - before.StreamCalls} time(s)";
        }

        if (Database == before.Database)
        {
            return null;
        }

        var at = 0;
        while (at < Database.Length && at < before.Database.Length && Database[at] == before.Database[at])
        {
            at++;
        }

        var from = Math.Max(0, at - 120);
        return $"the database changed near: …{before.Database[from..Math.Min(before.Database.Length, at + 120)]}… became …{Database[from..Math.Min(Database.Length, at + 120)]}…";
    }
}
