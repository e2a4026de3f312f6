using System.Text.Json;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Stream;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Transcripts;

internal sealed class TranscriptDispatcherSignal : WorkSignal;

/// <summary>
/// Delivers the transcript outbox: for each due callback, reads the chat's transcript from Stream at that moment (so
/// it holds everything up to the end message), signs it and POSTs it to the organisation's PMS. A failure — Stream,
/// the network, a non-2xx answer — is retried with backoff and given up after <c>Transcripts__MaxAttempts</c>, the last
/// error kept on the row. The PMS may see a transcript more than once (an answer lost after it filed it): the delivery
/// id header is the same on every attempt.
/// </summary>
internal sealed partial class TranscriptDispatcher(
    IServiceScopeFactory scopes,
    TranscriptDispatcherSignal signal,
    TimeProvider time,
    IOptions<TranscriptOptions> options,
    IOptions<WorkerOptions> workers,
    ILogger<TranscriptDispatcher> logger) : PollingWorker(signal, time, logger)
{
    private const int BatchSize = 10;

    protected override string PassName => "deliver transcripts";

    protected override TimeSpan PollInterval => options.Value.PollInterval;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Organisations.Count > 0)
        {
            await base.ExecuteAsync(stoppingToken);
        }
    }

    protected override async Task<DateTimeOffset?> RunOnceAsync(CancellationToken cancellationToken)
    {
        List<long> claimed;
        do
        {
            claimed = await ClaimAsync(cancellationToken);
            foreach (var id in claimed)
            {
                await DeliverAsync(id, cancellationToken);
            }
        }
        while (claimed.Count == BatchSize);

        await using var scope = scopes.CreateAsyncScope();
        var now = Time.GetUtcNow();
        return await scope.ServiceProvider.GetRequiredService<ChatDbContext>().Set<TranscriptCallback>()
            .Where(c => c.Status == TranscriptCallbackStatus.Pending && (c.LeaseUntil == null || c.LeaseUntil < now))
            .MinAsync(c => (DateTimeOffset?)c.NextAttemptAt, cancellationToken);
    }

    private async Task<List<long>> ClaimAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var now = Time.GetUtcNow();
        return await scope.ServiceProvider.GetRequiredService<Leases>().ClaimAsync(
            scope.ServiceProvider.GetRequiredService<ChatDbContext>().Set<TranscriptCallback>(),
            LockedRows.Skip,
            c => c.Status == TranscriptCallbackStatus.Pending && c.NextAttemptAt <= now && (c.LeaseUntil == null || c.LeaseUntil < now),
            c => c.Id,
            c => c.NextAttemptAt,
            c => c.LeaseUntil,
            c => c.LeaseOwner,
            now + workers.Value.LeaseDuration,
            BatchSize,
            cancellationToken);
    }

    private async Task DeliverAsync(long id, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        var callback = await db.Set<TranscriptCallback>().FirstAsync(c => c.Id == id, cancellationToken);
        string? error;
        try
        {
            error = await SendAsync(scope.ServiceProvider, callback, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested
            && ex is StreamApiException or StreamUnavailableException or HttpRequestException or OperationCanceledException)
        {
            error = ex switch
            {
                StreamApiException stream => $"Stream refused the transcript's messages: {stream.StreamMessage}",
                StreamUnavailableException => "Stream did not answer for the transcript's messages",
                OperationCanceledException => "the PMS did not answer in time",
                _ => $"the PMS could not be reached ({ex.GetType().Name})",
            };
        }

        Settle(callback, error);
        await db.SaveChangesAsync(CancellationToken.None); // even while stopping: what was delivered must be known
    }

    /// <summary>Null when the PMS took the transcript; else why not.</summary>
    private async Task<string?> SendAsync(IServiceProvider services, TranscriptCallback callback, CancellationToken cancellationToken)
    {
        if (options.Value.CallbackOf(callback.OrganisationId) is not { } target)
        {
            return "the organisation has no callback configured";
        }

        var chat = await services.GetRequiredService<ChatRecord>().ReadAsync(callback.AppointmentId, cancellationToken);
        if (chat?.ChannelId is null)
        {
            return "the chat no longer exists";
        }

        var transcript = await services.GetRequiredService<TranscriptReader>().ReadAsync(chat, cancellationToken);
        var body = JsonSerializer.SerializeToUtf8Bytes(transcript, TranscriptsJsonContext.Default.TranscriptResponse);
        return await services.GetRequiredService<TranscriptCallbackClient>()
            .DeliverAsync(new Uri(target.CallbackUrl!), target.Secret!, callback.Id, body, cancellationToken);
    }

    private void Settle(TranscriptCallback callback, string? error)
    {
        var settings = options.Value;
        callback.Attempts++;
        callback.LeaseUntil = null;
        callback.LeaseOwner = null;
        callback.Error = error;
        if (error is null)
        {
            callback.Status = TranscriptCallbackStatus.Delivered;
            callback.DeliveredAt = Time.GetUtcNow();
            LogDelivered(logger, callback.ChannelId, callback.OrganisationId, callback.Attempts);
        }
        else if (callback.Attempts >= settings.MaxAttempts)
        {
            callback.Status = TranscriptCallbackStatus.Failed;
            LogGaveUp(logger, callback.ChannelId, callback.OrganisationId, callback.Attempts, error);
        }
        else
        {
            callback.NextAttemptAt = Time.GetUtcNow() + Backoff(callback.Attempts, settings.FirstRetryDelay, settings.MaxRetryDelay);
            LogRetry(logger, callback.ChannelId, callback.Attempts, error, callback.NextAttemptAt);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Transcript of {ChannelId} delivered to the PMS of {OrganisationId} (attempt {Attempts})")]
    private static partial void LogDelivered(ILogger logger, string channelId, string organisationId, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transcript of {ChannelId} not delivered yet (attempt {Attempts}: {Reason}); retrying at {RetryAt}")]
    private static partial void LogRetry(ILogger logger, string channelId, int attempts, string reason, DateTimeOffset retryAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Transcript of {ChannelId} for {OrganisationId} given up after {Attempts} attempts: {Reason}")]
    private static partial void LogGaveUp(ILogger logger, string channelId, string organisationId, int attempts, string reason);
}
