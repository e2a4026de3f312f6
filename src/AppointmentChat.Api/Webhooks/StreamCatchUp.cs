using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Stream;
using AppointmentChat.Api.Unread;
using AppointmentChat.Api.Webhooks.Events;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Webhooks;

/// <summary>Where the catch-up pass got to, and which instance runs it now: one row, shared by every instance.</summary>
internal sealed class CatchUpMark
{
    public const string StreamKey = "stream";

    public required string Id { get; init; }

    /// <summary>The next pass looks at channels with a message since then.</summary>
    public DateTimeOffset? Since { get; set; }

    public DateTimeOffset? LeaseUntil { get; set; }

    public string? LeaseOwner { get; set; }
}

internal sealed class CatchUpMarkConfiguration : IEntityTypeConfiguration<CatchUpMark>
{
    public void Configure(EntityTypeBuilder<CatchUpMark> builder)
    {
        builder.ToTable("stream_catch_up");
        builder.HasKey(m => m.Id);
        builder.Property(m => m.Id).HasMaxLength(32);
        builder.Property(m => m.LeaseOwner).HasMaxLength(128);
    }
}

/// <summary>Wakes the catch-up pass (an operator asked for one).</summary>
internal sealed class StreamCatchUpSignal : WorkSignal;

/// <summary>
/// Catches up on webhooks Stream gave up on. Stream tries a webhook about 3 times within about 15 s (its webhook
/// documentation, "Performance and Error Handling"), so a deploy or an outage longer than that loses events: a message
/// missing from the chat list, a push never sent. This pass asks Stream for the channels with a message since the last
/// pass (query channels filtered and sorted on <c>last_message_at</c>, the indexed way stream-chat-go
/// docs/debugging_and_cli/api_budget.md recommends; pages of at most 30, Stream's limit), and records every message the
/// mirror lacks as its webhook would have: the newest becomes the chat's last message, and a message at most
/// <see cref="WebhookOptions.CatchUpPushWindow"/> old gets its push — once, the push outbox's key being the message and
/// the recipient, whichever of the webhook and this pass comes first. It runs at start, every
/// <see cref="WebhookOptions.CatchUpInterval"/>, and when an operator asks; one instance at a time.
/// </summary>
internal sealed partial class StreamCatchUp(
    IServiceScopeFactory scopes,
    StreamCatchUpSignal signal,
    TimeProvider time,
    IOptions<WebhookOptions> options,
    ILogger<StreamCatchUp> logger) : PollingWorker(signal, time, logger)
{
    /// <summary>Stream's largest page of channels.</summary>
    public const int PageSize = 30;

    /// <summary>Stream's largest offset: past it, the pass pages on <c>last_message_at</c> instead.</summary>
    private const int MaxOffset = 1000;

    /// <summary>Each channel's latest messages, as many as a pass looks at (Stream allows 300).</summary>
    private const int MessagesPerChannel = 100;

    private static readonly TimeSpan RetryAfterStreamFailure = TimeSpan.FromSeconds(30);

    /// <summary>How many chats with unread messages and no new message a pass checks against Stream (three pages).</summary>
    public const int UnreadChecksPerPass = 3 * PageSize;

    /// <summary>The channel id after which the next pass goes on checking chats with unread messages ("" from the start).</summary>
    private string _unreadCursor = "";

    protected override string PassName => "catch up with Stream";

    protected override TimeSpan PollInterval => options.Value.CatchUpInterval;

    protected override async Task<DateTimeOffset?> RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RunPassAsync(cancellationToken);
            return null;
        }
        catch (Exception ex) when (ex is StreamUnavailableException or StreamApiException && !cancellationToken.IsCancellationRequested)
        {
            // Stream is down or refusing: the pass tries again soon (its mark has not moved, so nothing is skipped).
            var retryAt = Time.GetUtcNow() + RetryAfterStreamFailure;
            LogPassPutOff(logger, ex.Message, retryAt);
            return retryAt;
        }
    }

    /// <summary>One pass, unless another instance is running one; returns what it found, or null if it did not run.</summary>
    public async Task<CatchUpResult?> RunPassAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var db = services.GetRequiredService<ChatDbContext>();
        var settings = options.Value;
        var started = Time.GetUtcNow();
        if (await TakeLeaseAsync(db, started, cancellationToken) is not { } since)
        {
            return null;
        }

        var result = new CatchUpResult();
        try
        {
            // Bulk reads: they take turns with the scheduler's calls, within Stream's limits.
            services.GetRequiredService<StreamPacing>().Use(services.GetRequiredService<SharedStreamTurns>());
            var stream = services.GetRequiredService<StreamChatClient>();
            var pushFrom = started - settings.CatchUpPushWindow;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            DateTimeOffset? upTo = null;
            var offset = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                var page = await stream.QueryChannelsAsync(PageRequest(since, upTo, offset), cancellationToken);
                foreach (var state in page)
                {
                    if (seen.Add(state.Channel.Cid) && state.Channel.Type == ChatLimits.ChannelType && state.Channel.Id.StartsWith(ChatLimits.ChannelPrefix, StringComparison.Ordinal))
                    {
                        await CatchUpChannelAsync(state, pushFrom, result, cancellationToken);
                    }
                }

                if (page.Count < PageSize)
                {
                    break;
                }

                offset += PageSize;
                if (offset + PageSize > MaxOffset)
                {
                    // Past Stream's largest offset: the next pages are the channels whose last message is no newer than
                    // the oldest one seen (those seen already are skipped).
                    var oldest = page.Min(s => s.Channel.LastMessageAt);
                    if (oldest is null || oldest == upTo)
                    {
                        break; // more than a thousand channels share one instant: nothing left to page on
                    }

                    (upTo, offset) = (oldest, 0);
                }
            }

            result.Channels = seen.Count;
            result.UnreadChecked = await CheckUnreadChatsAsync(stream, seen, cancellationToken);
            // The next pass looks a little further back than this one began: Stream's clock and ours differ a little,
            // and a message sent while this pass ran may carry a time before its end.
            await ReleaseLeaseAsync(db, started - settings.CatchUpOverlap, cancellationToken);
        }
        catch
        {
            await ReleaseLeaseAsync(db, since: null, CancellationToken.None);
            throw;
        }

        var metrics = services.GetRequiredService<ChatMetrics>();
        metrics.CatchUpMessages.Add(result.Found - result.Pushed, new KeyValuePair<string, object?>("pushed", false));
        metrics.CatchUpMessages.Add(result.Pushed, new KeyValuePair<string, object?>("pushed", true));
        LogPass(logger, since, result.Channels, result.Found, result.Pushed, result.UnreadChecked);
        return result;
    }

    /// <summary>
    /// One channel: every message newer than the chat's last message, and every message recent enough to push, goes
    /// through <see cref="MessageNewHandler"/> as its webhook would have, oldest first.
    /// </summary>
    private async Task CatchUpChannelAsync(ChannelStateResponse state, DateTimeOffset pushFrom, CatchUpResult result, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var channelId = state.Channel.Id;
        var mirror = await services.GetRequiredService<ChatDbContext>().Chats.AsNoTracking()
            .Where(c => c.ChannelId == channelId)
            .Select(c => new { c.LastMessageAt })
            .FirstOrDefaultAsync(cancellationToken);
        if (mirror is null)
        {
            return; // not a chat of this service's
        }

        var handler = services.GetRequiredService<MessageNewHandler>();
        var members = state.Members?.Select(m => new EventMember(m.UserId, null)).ToList();
        foreach (var message in (state.Messages ?? []).Where(m => m.Type is "regular" or "system").OrderBy(m => m.CreatedAt))
        {
            var missing = mirror.LastMessageAt is not { } last || message.CreatedAt > last;
            var recent = message.CreatedAt >= pushFrom;
            if (!missing && !recent)
            {
                continue;
            }

            var found = new StreamEvent(
                state.Channel.Cid, channelId, state.Channel.Type,
                new EventMessage(message.Id, message.Text, message.User is { } user ? new EventUser(user.Id, user.Name) : null,
                    AttachmentTypesConverter.TypesOf(message.Attachments),
                    message.Silent, message.CreatedAt.ToString("O")),
                null, null, members, message.CreatedAt.ToString("O"));
            var outcome = await handler.RecordAsync(found, push: recent, cancellationToken);
            if (missing)
            {
                result.Found++;
                result.Pushed += outcome.Notifications > 0 ? 1 : 0;
            }
        }

        await RepairUnreadCountsAsync(state, services, cancellationToken);
        await services.GetRequiredService<ChatDbContext>().SaveChangesAsync(cancellationToken);
    }

    /// <summary>
    /// The chats in which someone has unread messages, beyond those the pass saw for a new message: a read whose
    /// webhook was lost (<c>message.read</c>) leaves a count too high, and no later message need come to bring the chat
    /// into the pass. Up to <see cref="UnreadChecksPerPass"/> of them, in turn from pass to pass; each page is one query
    /// filtered on their <c>cid</c>s (<c>$in</c>, stream-chat-go docs/channels/query_channels.md) whose states repair
    /// the counts. Returns how many were checked.
    /// </summary>
    private async Task<int> CheckUnreadChatsAsync(StreamChatClient stream, HashSet<string> seen, CancellationToken cancellationToken)
    {
        List<string> channelIds;
        await using (var scope = scopes.CreateAsyncScope())
        {
            channelIds = await scope.ServiceProvider.GetRequiredService<UnreadCounts>().ChannelsWithUnreadAsync(_unreadCursor, UnreadChecksPerPass, cancellationToken);
        }

        _unreadCursor = channelIds.Count < UnreadChecksPerPass ? "" : channelIds[^1];
        var cids = channelIds.Select(id => $"{ChatLimits.ChannelType}:{id}").Where(cid => !seen.Contains(cid)).ToList();
        foreach (var page in cids.Chunk(PageSize))
        {
            var filter = new JsonObject { ["type"] = ChatLimits.ChannelType, ["cid"] = new JsonObject { ["$in"] = new JsonArray([.. page.Select(c => JsonValue.Create(c))]) } };
            var states = await stream.QueryChannelsAsync(new QueryChannelsRequest(filter, Limit: PageSize, MessageLimit: MessagesPerChannel), cancellationToken);
            foreach (var state in states)
            {
                await using var scope = scopes.CreateAsyncScope();
                await RepairUnreadCountsAsync(state, scope.ServiceProvider, cancellationToken);
                await scope.ServiceProvider.GetRequiredService<ChatDbContext>().SaveChangesAsync(cancellationToken);
            }
        }

        return cids.Count;
    }

    /// <summary>
    /// Each member's unread count as Stream's channel state has it (<c>read</c>: <c>unread_messages</c> since
    /// <c>last_read</c>), the truth a lost read or message webhook leaves the local count short of. The oldest unread
    /// message is found among the messages the state carries; past them, the count's own date stays.
    /// </summary>
    private static async Task RepairUnreadCountsAsync(ChannelStateResponse state, IServiceProvider services, CancellationToken cancellationToken)
    {
        var messages = (state.Messages ?? []).Where(m => m.Type is "regular" or "system" && !m.Silent).OrderBy(m => m.CreatedAt).ToList();
        var through = messages.Count > 0 ? messages[^1].CreatedAt : state.Channel.LastMessageAt ?? state.Channel.CreatedAt;
        var members = state.Members?.Select(m => m.UserId).ToHashSet(StringComparer.Ordinal) ?? [];
        var unread = services.GetRequiredService<UnreadCounts>();
        var systemUser = services.GetRequiredService<IOptions<ChatOptions>>().Value.SystemUserId;
        foreach (var read in state.Read ?? [])
        {
            if (read.User?.Id is not { } userId || Organisations.SystemUserIds.IsSystemUser(userId, systemUser) || !members.Contains(userId) || !StreamIds.IsValidUserId(userId))
            {
                continue;
            }

            var since = read.UnreadMessages > 0
                ? messages.FirstOrDefault(m => m.User?.Id != userId && (read.LastRead is not { } last || m.CreatedAt > last))?.CreatedAt
                : null;
            await unread.SetAsync(state.Channel.Id, userId, read.UnreadMessages, since, through, cancellationToken);
        }
    }

    private static QueryChannelsRequest PageRequest(DateTimeOffset since, DateTimeOffset? upTo, int offset)
    {
        var lastMessageAt = new JsonObject { ["$gte"] = since.ToString("O") };
        if (upTo is { } before)
        {
            lastMessageAt["$lte"] = before.ToString("O");
        }

        return new QueryChannelsRequest(
            new JsonObject { ["type"] = ChatLimits.ChannelType, ["last_message_at"] = lastMessageAt },
            Sort: [new ChannelSort("last_message_at", -1)],
            Limit: PageSize,
            Offset: offset,
            MessageLimit: MessagesPerChannel);
    }

    /// <summary>Takes the pass for this instance, unless another holds it; returns where the pass starts from.</summary>
    private async Task<DateTimeOffset?> TakeLeaseAsync(ChatDbContext db, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var marks = db.Set<CatchUpMark>();
        if (!await marks.AnyAsync(m => m.Id == CatchUpMark.StreamKey, cancellationToken))
        {
            db.Add(new CatchUpMark { Id = CatchUpMark.StreamKey, Since = now - options.Value.CatchUpFirstLookback });
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException)
            {
                // Another instance made it first.
            }
            finally
            {
                db.ChangeTracker.Clear();
            }
        }

        var until = now + options.Value.CatchUpInterval * 2;
        var taken = await marks
            .Where(m => m.Id == CatchUpMark.StreamKey && (m.LeaseUntil == null || m.LeaseUntil < now))
            .ExecuteUpdateAsync(set => set.SetProperty(m => m.LeaseUntil, until).SetProperty(m => m.LeaseOwner, InstanceId), cancellationToken);
        if (taken == 0)
        {
            return null;
        }

        var since = await marks.AsNoTracking().Where(m => m.Id == CatchUpMark.StreamKey).Select(m => m.Since).FirstAsync(cancellationToken);
        var earliest = now - options.Value.CatchUpMaxLookback;
        return since is { } mark && mark > earliest ? mark : earliest;
    }

    /// <summary>Gives the pass up; a pass that finished moves the mark on to <paramref name="since"/>.</summary>
    private static Task<int> ReleaseLeaseAsync(ChatDbContext db, DateTimeOffset? since, CancellationToken cancellationToken) =>
        since is { } next
            ? db.Set<CatchUpMark>().Where(m => m.Id == CatchUpMark.StreamKey && m.LeaseOwner == InstanceId)
                .ExecuteUpdateAsync(set => set.SetProperty(m => m.Since, next).SetProperty(m => m.LeaseUntil, (DateTimeOffset?)null).SetProperty(m => m.LeaseOwner, (string?)null), cancellationToken)
            : db.Set<CatchUpMark>().Where(m => m.Id == CatchUpMark.StreamKey && m.LeaseOwner == InstanceId)
                .ExecuteUpdateAsync(set => set.SetProperty(m => m.LeaseUntil, (DateTimeOffset?)null).SetProperty(m => m.LeaseOwner, (string?)null), cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Catch-up with Stream put off ({Reason}); trying again at {RetryAt}")]
    private static partial void LogPassPutOff(ILogger logger, string reason, DateTimeOffset retryAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Caught up with Stream since {Since}: {Channels} channel(s) with messages, {Found} message(s) no webhook had brought, {Pushed} of them pushed; {UnreadChecked} other chat(s) with unread messages checked")]
    private static partial void LogPass(ILogger logger, DateTimeOffset since, int channels, int found, int pushed, int unreadChecked);
}

/// <summary>What one catch-up pass found.</summary>
internal sealed class CatchUpResult
{
    /// <summary>Channels with a message since the pass's start point.</summary>
    public int Channels { get; set; }

    /// <summary>Messages newer than the chat list had: their webhooks were lost.</summary>
    public int Found { get; set; }

    /// <summary>Of those, the ones recent enough to push.</summary>
    public int Pushed { get; set; }

    /// <summary>Chats with unread messages but no new message, whose counts were checked against Stream's read state.</summary>
    public int UnreadChecked { get; set; }
}
