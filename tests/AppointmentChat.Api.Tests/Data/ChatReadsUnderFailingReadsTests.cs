using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AppointmentChat.Api.Tests.Data;

/// <summary>
/// The chat list's reads share a small PostgreSQL pool (<see cref="PostgresChatReads"/>): a read that fails in the
/// database, or whose caller goes away mid-read, must cost nobody else their list. Issue 29 (point 2) saw an unrelated
/// admin's list answer 500 ("Received unexpected backend message DataRow") after reads with a NUL in the caller's id.
/// </summary>
public sealed class ChatReadsUnderFailingReadsTests
{
    private const int Rounds = 12;
    private const int OperationsPerRound = 300;
    private const int InFlight = 32;

    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-12-01T10:00:00Z", CultureInfo.InvariantCulture);
    private static readonly string[] Vets = ["vet-0", "vet-1", "vet-2", "vet-3"];
    private static readonly string[] Owners = ["owner-0", "owner-1", "owner-2", "owner-3", "owner-4", "owner-5", "owner-6", "owner-7"];
    private static readonly string[] Organisations = ["org-a", "org-b"];
    private static readonly ChatStatus[] Statuses = [ChatStatus.Pending, ChatStatus.Active, ChatStatus.Ended];

    [Fact]
    public async Task NormalChatListsAnswerTheCallersOwnChatsWhileOtherListReadsFailInTheDatabaseOrAreCancelled()
    {
        await TestDatabase.RequirePostgresAsync();
        await using var app = await ChatApp.StartAsync(DatabaseKind.Postgres);
        var chats = await SeedAsync(app);
        var readPool = app.Services.GetRequiredKeyedService<NpgsqlDataSource>(PostgresChatReads.DataSourceKey);
        var wrong = new ConcurrentQueue<string>();
        var counts = new ConcurrentDictionary<string, int>();
        void Count(string what) => counts.AddOrUpdate(what, 1, (_, n) => n + 1);

        var random = new Random(29);
        for (var round = 0; round < Rounds; round++)
        {
            // A connection prepares a statement on one of its first runs of it, so what a failing read can do to a
            // connection depends on where in the connection's life it lands. Each round starts on new connections, as
            // the pool does after pruning idle ones or losing them.
            readPool.Clear();
            var operations = Enumerable.Range(0, OperationsPerRound).Select(_ => random.Next(100)).ToList();
            await Parallel.ForEachAsync(operations, new ParallelOptions { MaxDegreeOfParallelism = InFlight }, async (pick, _) =>
            {
                switch (pick)
                {
                    // Today a NUL in a validly signed token's sub or org reaches the list's query as a parameter, which
                    // PostgreSQL refuses (22021). The service is to refuse such ids at authentication; the direct reads
                    // below keep the database failing reads on this pool after that.
                    case < 8:
                        Count("NUL caller id");
                        await SendAsync(app, NulCaller(pick), null);
                        break;

                    // A read with a NUL member straight through the service's IChatReads: the same pool and statements
                    // as the endpoint's, and a failure inside PostgreSQL whatever authentication lets through.
                    case < 20:
                        Count("read refused by PostgreSQL");
                        await FailingReadAsync(app, pick, wrong);
                        break;

                    // The caller gives up mid-read (the app's timeout, a closed screen).
                    case < 35:
                        Count("cancelled by the client");
                        using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(pick % 8)))
                        {
                            await SendAsync(app, Normal(pick, chats), cancel.Token);
                        }

                        break;

                    default:
                        Count("normal");
                        var read = Normal(pick, chats);
                        if (await ReadAsync(app, read) is { } problem)
                        {
                            wrong.Enqueue(problem);
                        }

                        break;
                }
            });
        }

        var summary = string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key} {c.Value}"));
        var errors = app.Logs.Lines.Where(l => l.Exception is not null).GroupBy(l => l.Exception!.Split(Environment.NewLine)[0]).Select(g => $"{g.Count()} × {g.Key}");
        Assert.True(wrong.IsEmpty, $"""
            {wrong.Count} wrong answers ({summary}); the first:
            {string.Join(Environment.NewLine, wrong.Take(5).Select(w => w.Length > 200 ? w[..200] + "…" : w))}
            The service's errors:
            {string.Join(Environment.NewLine, errors)}
            """);
        Assert.True(counts.GetValueOrDefault("normal") > Rounds * OperationsPerRound / 2, summary);
    }

    [Fact]
    public async Task AReadPostgreSQLRefusesLeavesEveryStatementOfItsConnectionAnsweringTheNextRead()
    {
        await TestDatabase.RequirePostgresAsync();
        await using var app = await ChatApp.StartAsync(DatabaseKind.Postgres);
        var chats = await SeedAsync(app);
        var oneConnection = new NpgsqlConnectionStringBuilder(DatabaseOptionsSetup.PostgresConnectionString(app.Database.DatabaseUrl!)) { MaxPoolSize = 1 };
        await using var dataSource = PostgresChatReads.CreateDataSource(oneConnection.ConnectionString);
        var reads = new PostgresChatReads(dataSource);
        var chat = chats[0];

        // Each statement's first ten runs on the connection are refused, so whichever run prepares it is one of them;
        // then a run with a good value must answer.
        foreach (var membership in Enum.GetValues<ChatMembership>())
        {
            foreach (var status in new[] { null, "pending" })
            {
                foreach (var after in new ListPosition?[] { null, new ListPosition(T0.AddDays(1), "apt-99") })
                {
                    for (var refused = 0; refused < 10; refused++)
                    {
                        var e = await Assert.ThrowsAsync<PostgresException>(() => reads.ListAsync(membership, "member\0x", status, after, 31, "member", false, CancellationToken.None));
                        Assert.Equal(PostgresErrorCodes.CharacterNotInRepertoire, e.SqlState);
                    }

                    var member = membership switch
                    {
                        ChatMembership.PetOwner => chat.Owner,
                        ChatMembership.Organisation => chat.Organisation,
                        _ => chat.Vet,
                    };
                    Assert.NotEmpty(await reads.ListAsync(membership, member, status, after, 31, member, false, CancellationToken.None));
                }
            }
        }

        for (var refused = 0; refused < 10; refused++)
        {
            await Assert.ThrowsAsync<PostgresException>(() => reads.FindChatFactsAsync("apt\0x", CancellationToken.None));
        }

        Assert.Equal(chat.Id, (await reads.FindChatFactsAsync(chat.Id, CancellationToken.None))?.Id);
    }

    /// <summary>A list read with the answer it must get: a caller, the query, and the appointment ids in order.</summary>
    private sealed record NormalRead(string Caller, string Role, string? Organisation, string Query, string[] Expected, bool SecondPage);

    private static NormalRead Normal(int pick, IReadOnlyList<SeededChat> chats)
    {
        static string[] Ids(IEnumerable<SeededChat> mine) =>
            [.. mine.OrderByDescending(c => c.Activity).ThenByDescending(c => c.Id, StringComparer.Ordinal).Select(c => c.Id)];

        var vet = Vets[pick % Vets.Length];
        var owner = Owners[pick % Owners.Length];
        var organisation = Organisations[pick % Organisations.Length];
        return (pick % 6) switch
        {
            0 => new(vet, "vet", null, "?role=vet", Ids(chats.Where(c => c.Vet == vet)), false),
            1 => new(owner, "pet-owner", null, "?role=pet-owner", Ids(chats.Where(c => c.Owner == owner)), false),
            2 => new(owner, "pet-owner", null, "", Ids(chats.Where(c => c.Owner == owner)), false),
            3 => new("admin-" + organisation, "admin", organisation, "", [.. Ids(chats.Where(c => c.Organisation == organisation)).Take(ChannelsApi.DefaultPageSize)], false),
            4 => new(vet, "vet", null, "?role=vet&status=active", Ids(chats.Where(c => c.Vet == vet && c.Status == ChatStatus.Active)), false),
            _ => new("admin-" + organisation, "admin", organisation, "?limit=3", Ids(chats.Where(c => c.Organisation == organisation)).Take(6).ToArray(), true),
        };
    }

    private static NormalRead NulCaller(int pick) => (pick % 4) switch
    {
        0 => new("vet\0x", "vet", null, "?role=vet", [], false),
        1 => new("owner\0x", "pet-owner", null, "", [], false),
        2 => new("admin-x", "admin", "org\0x", "", [], false),
        _ => new("someone\0x", "pet-owner", null, "?role=pet-owner&status=ended", [], false),
    };

    /// <summary>Reads a normal list (and its second page, if asked); what was wrong with the answer, or null.</summary>
    private static async Task<string?> ReadAsync(ChatApp app, NormalRead read)
    {
        using var client = app.ClientFor(read.Caller, read.Role, read.Organisation);
        var ids = new List<string>();
        var url = "/api/chat/channels" + read.Query;
        for (var page = 0; page < (read.SecondPage ? 2 : 1); page++)
        {
            using var response = await client.GetAsync(url);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return $"{read.Caller} GET {url}: {(int)response.StatusCode} {body}";
            }

            var list = JsonDocument.Parse(body).RootElement;
            ids.AddRange(list.GetProperty("channels").EnumerateArray().Select(c => c.GetProperty("appointmentId").GetString()!));
            if (list.TryGetProperty("nextCursor", out var next) && next.GetString() is { } cursor)
            {
                url = "/api/chat/channels" + read.Query + "&cursor=" + cursor;
            }
        }

        return ids.SequenceEqual(read.Expected)
            ? null
            : $"{read.Caller} GET {read.Query}: [{string.Join(", ", ids)}], expected [{string.Join(", ", read.Expected)}]";
    }

    /// <summary>A request whose answer nobody checks: it may fail, or be cancelled before it is answered.</summary>
    private static async Task SendAsync(ChatApp app, NormalRead read, CancellationToken? cancellation)
    {
        using var client = app.ClientFor(read.Caller, read.Role, read.Organisation);
        try
        {
            using var response = await client.GetAsync("/api/chat/channels" + read.Query, cancellation ?? CancellationToken.None);
        }
        catch (OperationCanceledException) when (cancellation is { IsCancellationRequested: true })
        {
        }
    }

    private static async Task FailingReadAsync(ChatApp app, int pick, ConcurrentQueue<string> wrong)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var reads = scope.ServiceProvider.GetRequiredService<IChatReads>();
        var membership = (ChatMembership)(pick % 4);
        var status = pick % 3 == 0 ? "active" : null;
        ListPosition? after = pick % 5 == 0 ? new ListPosition(T0.AddHours(1), "apt-50") : null;
        try
        {
            await reads.ListAsync(membership, "member\0x", status, after, 31, "member", false, CancellationToken.None);
            wrong.Enqueue($"a {membership} list of a member with a NUL answered: this test no longer fails reads in the database");
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.CharacterNotInRepertoire)
        {
        }
        catch (Exception e)
        {
            // Its own refusal is the only way such a read may fail.
            wrong.Enqueue($"a {membership} list of a member with a NUL failed with another read's trouble: {e.Message}");
        }
    }

    private sealed record SeededChat(string Id, string Owner, string Vet, string Organisation, ChatStatus Status, DateTimeOffset Activity);

    /// <summary>Eighty chats over four vets, eight pet owners and two organisations, each with its own activity time.</summary>
    private static async Task<IReadOnlyList<SeededChat>> SeedAsync(ChatApp app)
    {
        var chats = Enumerable.Range(0, 80).Select(i => new SeededChat(
            $"apt-{i:D2}", Owners[i % Owners.Length], Vets[i % Vets.Length], Organisations[i / 3 % Organisations.Length],
            Statuses[i % Statuses.Length], T0.AddMinutes(i * 7 % 80))).ToList();
        await app.InDatabaseAsync(async db =>
        {
            foreach (var chat in chats)
            {
                await db.TryInsertAppointmentAsync(new Appointment
                {
                    Id = chat.Id,
                    PetOwnerId = chat.Owner,
                    PetOwnerName = "Owner of " + chat.Id,
                    VetId = chat.Vet,
                    OrganisationId = chat.Organisation,
                    StartsAt = T0.AddHours(1),
                    DurationMinutes = 30,
                    ChatActivationMinutes = 5,
                    Status = AppointmentStatus.Upcoming,
                    CreatedAt = T0,
                    UpdatedAt = T0,
                }, CancellationToken.None);
                await db.Chats.Where(c => c.AppointmentId == chat.Id).ExecuteUpdateAsync(set => set
                    .SetProperty(c => c.ChannelId, ChatLimits.ChannelIdFor(chat.Id))
                    .SetProperty(c => c.Status, chat.Status)
                    .SetProperty(c => c.LastActivityAt, chat.Activity));
            }

            return 0;
        });
        return chats;
    }
}
