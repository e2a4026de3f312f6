using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Channels;

/// <summary>A chat's newest message, for the chat list.</summary>
internal sealed record LastMessage(string ChannelId, string MessageId, string Preview, DateTimeOffset At);

/// <summary>The chat list's mirror of each chat's newest message, kept from Stream's webhooks.</summary>
internal static class LastMessages
{
    /// <summary>
    /// Sets the last message of many chats in one statement (<c>UPDATE … FROM (VALUES …)</c>, which SQLite and
    /// PostgreSQL both speak). A chat whose stored last message is newer keeps it: deliveries can come out of order.
    /// </summary>
    public static async Task SetLastMessagesAsync(this ChatDbContext db, IReadOnlyCollection<LastMessage> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
        {
            return;
        }

        var values = new System.Text.StringBuilder();
        var parameters = new List<object?>(messages.Count * 4);
        foreach (var m in messages)
        {
            var n = parameters.Count;
            values.Append(values.Length == 0 ? "" : ", ").Append(System.Globalization.CultureInfo.InvariantCulture, $"({{{n}}}, {{{n + 1}}}, {{{n + 2}}}, {{{n + 3}}})");
            parameters.AddRange([m.ChannelId, m.MessageId, m.Preview, db.Stored<Appointments.Appointment>(nameof(Appointments.Appointment.LastMessageAt), m.At)]);
        }

        // VALUES columns are column1… on both databases.
        var sql = $"""
            UPDATE appointments SET
                "LastMessageId" = v.column2,
                "LastMessageText" = v.column3,
                "LastMessageAt" = v.column4,
                "LastActivityAt" = CASE WHEN appointments."LastActivityAt" > v.column4 THEN appointments."LastActivityAt" ELSE v.column4 END
            FROM (VALUES {values}) AS v
            WHERE appointments."ChannelId" = v.column1
              AND (appointments."LastMessageAt" IS NULL OR appointments."LastMessageAt" <= v.column4)
            """;
        await db.Database.ExecuteSqlRawAsync(sql, parameters!, cancellationToken);
    }
}
