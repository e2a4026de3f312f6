using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;

namespace AppointmentChat.StreamEmulator;

/// <summary>One webhook delivery and what became of each attempt.</summary>
public sealed class WebhookDelivery
{
    public required string WebhookId { get; init; }

    public required string EventType { get; init; }

    public string? Cid { get; init; }

    public required byte[] Body { get; init; }

    public ConcurrentQueue<string> Attempts { get; } = new();

    /// <summary>
    /// <c>pending</c>, <c>delivered</c>, <c>failed</c> (attempts used up), <c>skipped</c> (no URL) or <c>dropped</c> (lost on
    /// purpose, see <see cref="EmulatorSettings.DropWebhooksUntil"/>).
    /// </summary>
    public string Outcome { get; set; } = "pending";
}

/// <summary>
/// Sends every event to the configured webhook URL as Stream does: the raw JSON body signed with
/// <c>X-Signature</c> (lowercase hex HMAC-SHA256 with the secret), a stable <c>X-Webhook-Id</c>, the
/// attempt number, the API key; retried on timeouts, connection failures, 408, 429 and 5xx within Stream's budget
/// (<see cref="EmulatorSettings.WebhookMaxAttempts"/>).
/// </summary>
public sealed partial class WebhookDispatcher(
    EmulatorSettings settings,
    IHttpClientFactory httpClients,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger) : BackgroundService, IEventSink
{
    public const string HttpClientName = "stream-emulator-webhooks";
    private const int MaxRemembered = 20_000;

    private readonly Channel<WebhookDelivery> _queue = Channel.CreateUnbounded<WebhookDelivery>();
    private readonly ConcurrentQueue<WebhookDelivery> _log = new();

    public IReadOnlyCollection<WebhookDelivery> Deliveries => _log;

    public void Publish(EmulatorEvent emulatorEvent)
    {
        if (emulatorEvent.WatchersOnly)
        {
            return;
        }

        var delivery = new WebhookDelivery
        {
            WebhookId = Guid.NewGuid().ToString(),
            EventType = emulatorEvent.Type,
            Cid = emulatorEvent.Cid,
            Body = Encoding.UTF8.GetBytes(emulatorEvent.Payload.ToJsonString()),
        };
        _log.Enqueue(delivery);
        while (_log.Count > MaxRemembered && _log.TryDequeue(out _))
        {
        }

        if (settings.DropWebhooksUntil is { } until && time.GetUtcNow() < until)
        {
            delivery.Outcome = "dropped"; // as Stream after its last attempt: never sent again on its own
            return;
        }

        _queue.Writer.TryWrite(delivery);
    }

    /// <summary>Sends the dropped deliveries after all, under their own webhook ids (a test's late redelivery).</summary>
    public int Redeliver()
    {
        var dropped = _log.Where(d => d.Outcome == "dropped").ToList();
        foreach (var delivery in dropped)
        {
            delivery.Outcome = "pending";
            _queue.Writer.TryWrite(delivery);
        }

        return dropped.Count;
    }

    public void Forget()
    {
        _log.Clear();
    }

    public static string Sign(ReadOnlySpan<byte> body, string secret) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Math.Max(1, settings.WebhookConcurrency)).Select(_ => WorkAsync(stoppingToken)));

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var delivery in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                await DeliverAsync(delivery, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task DeliverAsync(WebhookDelivery delivery, CancellationToken stoppingToken)
    {
        var delay = settings.WebhookRetryDelay;
        var deadline = time.GetUtcNow() + settings.WebhookRetryBudget;
        var maxAttempts = settings.WebhookMaxAttempts;
        var attempt = 0;
        while (++attempt <= maxAttempts)
        {
            var url = settings.WebhookUrl;
            if (url is null)
            {
                delivery.Outcome = "skipped";
                return;
            }

            var (done, note) = await AttemptAsync(url, delivery, attempt, stoppingToken);
            delivery.Attempts.Enqueue(note);
            if (done)
            {
                delivery.Outcome = note.StartsWith('2') ? "delivered" : "failed";
                return;
            }

            if (note.StartsWith("error", StringComparison.Ordinal))
            {
                maxAttempts = Math.Min(maxAttempts, settings.WebhookMaxAttemptsWhenUnreachable);
            }

            if (attempt >= maxAttempts || time.GetUtcNow() + delay > deadline)
            {
                break;
            }

            await Task.Delay(delay, time, stoppingToken);
            delay *= 2;
        }

        delivery.Outcome = "failed";
        LogGaveUp(logger, delivery.EventType, delivery.WebhookId, delivery.Attempts.Count);
    }

    /// <returns>Whether to stop (delivered, or refused in a way Stream does not retry) and what happened.</returns>
    private async Task<(bool Done, string Note)> AttemptAsync(Uri url, WebhookDelivery delivery, int attempt, CancellationToken stoppingToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(delivery.Body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("X-Signature", Sign(delivery.Body, settings.ApiSecret));
        request.Headers.Add("X-Webhook-Id", delivery.WebhookId);
        request.Headers.Add("X-Webhook-Attempt", attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("X-Api-Key", settings.ApiKey);
        request.Headers.UserAgent.ParseAdd("Stream-Webhook-Client/emulator");

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(settings.WebhookAttemptTimeout);
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
            var status = (int)response.StatusCode;
            var retry = status is 408 or 429 or >= 500;
            return (!retry, status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return (false, "timeout");
        }
        catch (HttpRequestException ex)
        {
            return (false, "error: " + ex.HttpRequestError);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {EventType} {WebhookId} not delivered after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, string eventType, string webhookId, int attempts);
}
