using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Unread;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AppointmentChat.Api.Tests.Data;

/// <summary>
/// PostgreSQL's fast path for the hot reads (<see cref="PostgresChatReads"/>) answers exactly as the plain path (the
/// chat feature's EF Core queries, <see cref="ChatQueries"/>) does: every list shape, every cursor, every page size, the
/// facts of every appointment, over chats that tie on activity, lack messages, have renamed pet owners and none at all.
/// </summary>
public sealed class ChatReadsAnswerAsThePlainPathTests
{
    [Fact]
    public async Task ThePostgresFastPathAnswersEveryReadAsThePlainPathDoes()
    {
        await TestDatabase.RequirePostgresAsync();
        await using var app = await ChatApp.StartAsync(DatabaseKind.Postgres);
        var t0 = DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        string[] owners = ["owner-a", "owner-b", "vet-c"]; // vet-c is a pet owner here and a vet below: "either" meets both sides
        string[] vets = ["vet-c", "vet-d"];
        string[] organisations = ["org-1", "org-2"];
        ChatStatus?[] statuses = [ChatStatus.Pending, ChatStatus.Active, ChatStatus.Ended];
        var ids = new List<string>();
        await app.InDatabaseAsync(async db =>
        {
            for (var i = 0; i < 40; i++)
            {
                var id = $"apt-{i:D2}{(char)('a' + (i * 7 % 26))}";
                ids.Add(id);
                var owner = owners[i % owners.Length];
                var vet = vets[i % vets.Length] == owner ? "vet-d" : vets[i % vets.Length];
                await db.TryInsertAppointmentAsync(new Appointment
                {
                    Id = id,
                    PetOwnerId = owner,
                    PetOwnerName = i % 4 == 0 ? null : $"Owner {i}",
                    VetId = vet,
                    OrganisationId = organisations[i % 2],
                    StartsAt = t0.AddHours(i),
                    DurationMinutes = 15 + i,
                    ChatActivationMinutes = i % 3 * 10,
                    Status = (AppointmentStatus)(i % 7),
                    CreatedAt = t0,
                    UpdatedAt = t0,
                }, CancellationToken.None);
                if (i % 9 == 8)
                {
                    continue; // no chat yet: in no list
                }

                // Every third pair ties on activity, so the id decides their order.
                var activity = t0.AddMinutes(i / 3 * 3);
                var hasMessage = i % 5 != 0;
                await db.Chats.Where(c => c.AppointmentId == id).ExecuteUpdateAsync(set => set
                    .SetProperty(c => c.ChannelId, ChatLimits.ChannelIdFor(id))
                    .SetProperty(c => c.Status, statuses[i % 3])
                    .SetProperty(c => c.LastActivityAt, activity)
                    .SetProperty(c => c.LastMessageAt, hasMessage ? activity : null)
                    .SetProperty(c => c.LastMessageText, hasMessage ? $"message {i}" : null));
            }

            // One pet owner is known by another name than the appointment gives; another is known with no name.
            await db.UpsertChatUserAsync(new("owner-a", "Renamed A", t0), t0, CancellationToken.None);
            await db.UpsertChatUserAsync(new("owner-b", null, t0), t0, CancellationToken.None);

            // Unread counts: some chats have some for their members (one read to zero), others none; one of another user.
            for (var i = 0; i < 40; i += 2)
            {
                var channelId = ChatLimits.ChannelIdFor(ids[i]);
                var count = i % 5;
                foreach (var reader in new[] { owners[i % owners.Length], vets[i % vets.Length], "someone-else" }.Distinct())
                {
                    db.UnreadCounts.Add(new UnreadCount { UserId = reader, ChannelId = channelId, Count = count, Since = count > 0 ? t0.AddMinutes(i) : null, Through = t0.AddMinutes(i + 1).UtcTicks });
                }
            }

            await db.SaveChangesAsync();
            return 0;
        });

        var fast = app.Services.GetRequiredService<PostgresChatReads>();
        using var scope = app.Services.CreateScope();
        var plain = ActivatorUtilities.CreateInstance<ChatQueries>(scope.ServiceProvider);
        var compared = 0;

        foreach (var id in ids.Append("apt-missing"))
        {
            Assert.Equal(await plain.FindChatFactsAsync(id, CancellationToken.None), await fast.FindChatFactsAsync(id, CancellationToken.None));
        }

        var lists = new List<(ChatMembership, string)>();
        lists.AddRange(owners.Select(o => (ChatMembership.PetOwner, o)));
        lists.AddRange(vets.Select(v => (ChatMembership.Vet, v)));
        lists.AddRange(organisations.Select(o => (ChatMembership.Organisation, o)));
        lists.AddRange(owners.Concat(vets).Distinct().Select(m => (ChatMembership.Either, m)));
        lists.Add((ChatMembership.Either, "nobody"));
        foreach (var ((membership, member), unreadOnly) in lists.SelectMany(l => new[] { (l, false), (l, true) }))
        {
            // A member reads their own counts; an organisation's list is read by someone with counts of their own.
            var reader = membership == ChatMembership.Organisation ? "owner-a" : member;
            foreach (var status in new[] { null, "pending", "active", "ended" })
            {
                var everything = await plain.ListAsync(membership, member, status, null, 1000, reader, unreadOnly, CancellationToken.None);
                var positions = new List<ListPosition?> { null, new ListPosition(t0.AddMinutes(20), "apt-99") };
                positions.AddRange(everything.Select(r => (ListPosition?)new ListPosition(r.LastActivityAt, r.AppointmentId)));
                foreach (var after in positions)
                {
                    foreach (var take in new[] { 1, 2, 5, IChatReads.MaxPageSize + 1 })
                    {
                        var expected = await plain.ListAsync(membership, member, status, after, take, reader, unreadOnly, CancellationToken.None);
                        var actual = await fast.ListAsync(membership, member, status, after, take, reader, unreadOnly, CancellationToken.None);
                        Assert.True(expected.SequenceEqual(actual), $"{membership} {member} status {status} unread {unreadOnly} after {after} take {take}: plain [{string.Join(", ", expected.Select(r => r.AppointmentId))}], fast [{string.Join(", ", actual.Select(r => r.AppointmentId))}]");
                        compared += expected.Count;
                    }
                }
            }
        }

        // The data exercised what it was built for: lists with rows, renamed and unnamed owners, ties, unread counts.
        Assert.True(compared > 1000, $"only {compared} rows compared");
        var ownerA = await plain.ListAsync(ChatMembership.PetOwner, "owner-a", null, null, 100, "owner-a", false, CancellationToken.None);
        Assert.Contains(ownerA, r => r.PetOwnerName == "Renamed A");
        Assert.Contains(ownerA, r => r.UnreadCount > 0 && r.UnreadSince is not null);
        Assert.Contains(ownerA, r => r.UnreadCount == 0 && r.UnreadSince is null);
        var unreadOnlyA = await plain.ListAsync(ChatMembership.PetOwner, "owner-a", null, null, 100, "owner-a", true, CancellationToken.None);
        Assert.NotEmpty(unreadOnlyA);
        Assert.All(unreadOnlyA, r => Assert.True(r.UnreadCount > 0));
        var ownerB = await plain.ListAsync(ChatMembership.PetOwner, "owner-b", null, null, 100, "owner-b", false, CancellationToken.None);
        Assert.Contains(ownerB, r => r.PetOwnerName is not null && r.PetOwnerName.StartsWith("Owner ", StringComparison.Ordinal));
        Assert.Contains(ownerB, r => r.PetOwnerName is null);
    }
}
