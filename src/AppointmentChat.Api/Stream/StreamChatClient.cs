using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace AppointmentChat.Api.Stream;

/// <summary>
/// Our client for Stream's server-side REST API (the official .NET SDK is not available to us).
/// Every call carries <c>api_key</c>, the server JWT, <c>Stream-Auth-Type: jwt</c> and <c>X-Stream-Client</c>;
/// failures surface as <see cref="StreamApiException"/> or <see cref="StreamUnavailableException"/>.
/// Retries (see <see cref="StreamResilience"/>) happen only where repeating the call is safe.
/// </summary>
internal sealed partial class StreamChatClient(
    HttpClient http,
    StreamEndpoint endpoint,
    StreamTokenSigner signer,
    StreamPacing pacing,
    IOptions<StreamOptions> options,
    TimeProvider time,
    ILogger<StreamChatClient> logger)
{
    public static readonly string ClientHeader =
        "appointment-chat-" + (typeof(StreamChatClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "1.0.0");

    private readonly string _apiKeyQuery = "?api_key=" + Uri.EscapeDataString(options.Value.ApiKey ?? "");

    /// <summary>
    /// All the calls made through this client — one request's, or one piece of background work's — share one budget,
    /// <c>Stream__TotalTimeout</c>, counted from the first: however many calls a path makes in a row, it is done (or
    /// answers 503) within it. Wall-clock time, like the resilience pipeline's own timeouts.
    /// </summary>
    private long? _budgetEnds;

    /// <summary>Reads the app's settings (<c>GET /app</c>): a cheap way to see that Stream answers and knows our credentials.</summary>
    public Task<JsonObject> GetAppAsync(CancellationToken cancellationToken) =>
        SendAsync<JsonObject, JsonObject>(HttpMethod.Get, "app", null, StreamJsonContext.Default.JsonObject, StreamJsonContext.Default.JsonObject, "GetApp", idempotent: true, cancellationToken);

    /// <summary>Creates or replaces users (<c>POST /users</c>); idempotent.</summary>
    public Task<UsersResponse> UpsertUsersAsync(IEnumerable<StreamUser> users, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, "users", new UpsertUsersRequest(users.ToDictionary(u => u.Id)), StreamJsonContext.Default.UpsertUsersRequest,
            StreamJsonContext.Default.UsersResponse, "UpsertUsers", idempotent: true, cancellationToken);

    /// <summary>Sets and unsets user fields (<c>PATCH /users</c>); idempotent.</summary>
    public Task<UsersResponse> PartialUpdateUsersAsync(IReadOnlyList<UserPartialUpdate> updates, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Patch, "users", new PartialUpdateUsersRequest(updates), StreamJsonContext.Default.PartialUpdateUsersRequest,
            StreamJsonContext.Default.UsersResponse, "PartialUpdateUsers", idempotent: true, cancellationToken);

    /// <summary>
    /// Which of <paramref name="ids"/> Stream has as users (<c>GET /users</c> with the query as the JSON <c>payload</c>
    /// parameter, as stream-chat-js <c>queryUsers</c> sends it; <c>id $in</c>, at most 100 a page).
    /// </summary>
    public async Task<IReadOnlySet<string>> ExistingUserIdsAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ids.Count, 100);
        var payload = new JsonObject
        {
            ["filter_conditions"] = new JsonObject { ["id"] = new JsonObject { ["$in"] = new JsonArray([.. ids.Select(id => (JsonNode)id)]) } },
            ["limit"] = ids.Count,
        };
        var response = await SendAsync<JsonObject, QueryUsersResponse>(HttpMethod.Get, "users?payload=" + Uri.EscapeDataString(payload.ToJsonString()), null,
            StreamJsonContext.Default.JsonObject, StreamJsonContext.Default.QueryUsersResponse, "QueryUsers", idempotent: true, cancellationToken);
        return response.Users.Select(u => u.Id).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Makes every token of <paramref name="userId"/> issued before <paramref name="before"/> invalid.</summary>
    public Task<UsersResponse> RevokeUserTokensAsync(string userId, DateTimeOffset before, CancellationToken cancellationToken) =>
        PartialUpdateUsersAsync(
            [new UserPartialUpdate(userId, new Dictionary<string, JsonNode?> { ["revoke_tokens_issued_before"] = before.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture) })],
            cancellationToken);

    /// <summary>
    /// Returns the channel, creating it with these members and custom data if it does not exist
    /// (<c>POST /channels/{type}/{id}/query</c>); idempotent. Members must exist as users.
    /// </summary>
    public Task<ChannelStateResponse> GetOrCreateChannelAsync(string type, string id, string createdById, IReadOnlyList<string> members, JsonObject? custom, CancellationToken cancellationToken)
    {
        var data = custom is null ? new JsonObject() : (JsonObject)custom.DeepClone();
        data["created_by_id"] = createdById;
        data["members"] = new JsonArray([.. members.Select(m => (JsonNode)m)]);
        var body = new JsonObject { ["data"] = data, ["state"] = true, ["watch"] = false, ["presence"] = false };
        return SendAsync(HttpMethod.Post, $"channels/{Escape(type)}/{Escape(id)}/query", body, StreamJsonContext.Default.JsonObject,
            StreamJsonContext.Default.ChannelStateResponse, "GetOrCreateChannel", idempotent: true, cancellationToken);
    }

    /// <summary>Most messages a channel query returns at once (Stream's MessagePaginationParams.limit, at most 300).</summary>
    public const int MaxMessagesPerPage = 300;

    /// <summary>
    /// A page of a channel's messages, oldest first (<c>POST /channels/{type}/{id}/query</c> with <c>messages</c>): the
    /// latest <paramref name="limit"/>, or the latest before the message <paramref name="before"/> (<c>id_lt</c>). Ids,
    /// not offsets, as Stream pages messages (getstream.io/chat/docs "Channel Pagination"; GetStream/protocol openapi
    /// MessagePaginationParams). Read-only: no <c>data</c>, so it creates nothing; idempotent.
    /// </summary>
    public Task<ChannelStateResponse> QueryMessagesAsync(string type, string id, string? before, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxMessagesPerPage);
        var messages = new JsonObject { ["limit"] = limit };
        if (before is not null)
        {
            messages["id_lt"] = before;
        }

        var body = new JsonObject { ["state"] = true, ["watch"] = false, ["presence"] = false, ["messages"] = messages };
        return SendAsync(HttpMethod.Post, $"channels/{Escape(type)}/{Escape(id)}/query", body, StreamJsonContext.Default.JsonObject,
            StreamJsonContext.Default.ChannelStateResponse, "QueryChannelMessages", idempotent: true, cancellationToken);
    }

    /// <summary>Sets and unsets channel fields, keeping all others (<c>PATCH /channels/{type}/{id}</c>); idempotent.</summary>
    public Task<StreamChannelResponse> PartialUpdateChannelAsync(string type, string id, JsonObject? set, IReadOnlyList<string>? unset, CancellationToken cancellationToken)
    {
        var body = new JsonObject();
        if (set is not null)
        {
            body["set"] = set.DeepClone();
        }

        if (unset is not null)
        {
            body["unset"] = new JsonArray([.. unset.Select(u => (JsonNode)u)]);
        }

        return SendAsync(HttpMethod.Patch, $"channels/{Escape(type)}/{Escape(id)}", body, StreamJsonContext.Default.JsonObject,
            StreamJsonContext.Default.StreamChannelResponse, "PartialUpdateChannel", idempotent: true, cancellationToken);
    }

    /// <summary>
    /// Full update (<c>POST /channels/{type}/{id}</c>): <paramref name="data"/> REPLACES all custom data.
    /// Prefer <see cref="PartialUpdateChannelAsync"/> unless that is what you mean. Idempotent.
    /// </summary>
    public Task<StreamChannelResponse> UpdateChannelAsync(string type, string id, JsonObject data, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"channels/{Escape(type)}/{Escape(id)}", new JsonObject { ["data"] = data.DeepClone() }, StreamJsonContext.Default.JsonObject,
            StreamJsonContext.Default.StreamChannelResponse, "UpdateChannel", idempotent: true, cancellationToken);

    /// <summary>
    /// Adds members (<c>POST /channels/{type}/{id}</c> with <c>add_members</c> alone); idempotent. Members are added and
    /// removed in separate requests, as every official SDK sends them (stream-chat-go <c>channel.go</c> AddMembers and
    /// RemoveMembers; stream-chat-js <c>channel.ts</c> addMembers and removeMembers): Stream's spec does not say that one
    /// request may carry both.
    /// </summary>
    public Task<StreamChannelResponse> AddMembersAsync(string type, string id, IReadOnlyList<string> userIds, CancellationToken cancellationToken) =>
        UpdateMembersAsync(type, id, "add_members", userIds, "AddChannelMembers", cancellationToken);

    /// <summary>Removes members (<c>POST /channels/{type}/{id}</c> with <c>remove_members</c> alone); idempotent.</summary>
    public Task<StreamChannelResponse> RemoveMembersAsync(string type, string id, IReadOnlyList<string> userIds, CancellationToken cancellationToken) =>
        UpdateMembersAsync(type, id, "remove_members", userIds, "RemoveChannelMembers", cancellationToken);

    private Task<StreamChannelResponse> UpdateMembersAsync(string type, string id, string field, IReadOnlyList<string> userIds, string operation, CancellationToken cancellationToken)
    {
        var body = new JsonObject { [field] = new JsonArray([.. userIds.Select(m => (JsonNode)m)]) };
        return SendAsync(HttpMethod.Post, $"channels/{Escape(type)}/{Escape(id)}", body, StreamJsonContext.Default.JsonObject,
            StreamJsonContext.Default.StreamChannelResponse, operation, idempotent: true, cancellationToken);
    }

    /// <summary>
    /// Sends a message (<c>POST /channels/{type}/{id}/message</c>). With an <see cref="NewMessage.Id"/> the call is
    /// safe to retry: Stream refuses a second message with the same id, which counts as sent. Without one
    /// it is retried only when Stream cannot have applied it (429, connection never made).
    /// </summary>
    public async Task<StreamMessage?> SendMessageAsync(string type, string id, NewMessage message, CancellationToken cancellationToken)
    {
        var json = new JsonObject { ["text"] = message.Text, ["user_id"] = message.UserId };
        if (message.Id is not null)
        {
            json["id"] = message.Id;
        }

        if (message.Type is not null)
        {
            json["type"] = message.Type;
        }

        try
        {
            var response = await SendAsync(HttpMethod.Post, $"channels/{Escape(type)}/{Escape(id)}/message", new JsonObject { ["message"] = json },
                StreamJsonContext.Default.JsonObject, StreamJsonContext.Default.SendMessageResponse, "SendMessage", idempotent: message.Id is not null, cancellationToken);
            return response.Message;
        }
        catch (StreamApiException ex) when (message.Id is not null && ex.IsDuplicateMessage)
        {
            return null; // an earlier attempt already delivered it
        }
    }

    /// <summary>Queries channels (<c>POST /channels</c>); read-only, so idempotent. Stream allows at most 30 per page.</summary>
    public async Task<IReadOnlyList<ChannelStateResponse>> QueryChannelsAsync(QueryChannelsRequest request, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(request.Limit, 30);
        var response = await SendAsync(HttpMethod.Post, "channels", request, StreamJsonContext.Default.QueryChannelsRequest,
            StreamJsonContext.Default.QueryChannelsResponse, "QueryChannels", idempotent: true, cancellationToken);
        return response.Channels;
    }

    /// <summary>Deletes a channel (<c>DELETE /channels/{type}/{id}</c>); idempotent (a missing channel is 404).</summary>
    public Task<StreamChannelResponse> DeleteChannelAsync(string type, string id, CancellationToken cancellationToken) =>
        SendAsync<JsonObject, StreamChannelResponse>(HttpMethod.Delete, $"channels/{Escape(type)}/{Escape(id)}", null, StreamJsonContext.Default.JsonObject,
            StreamJsonContext.Default.StreamChannelResponse, "DeleteChannel", idempotent: true, cancellationToken);

    private async Task<TResponse> SendAsync<TRequest, TResponse>(
        HttpMethod method,
        string path,
        TRequest? body,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        string operation,
        bool idempotent,
        CancellationToken cancellationToken)
        where TRequest : class
    {
        var baseUri = await endpoint.BaseUriAsync(cancellationToken);
        using var request = new HttpRequestMessage(method, new Uri(baseUri, path.Contains('?', StringComparison.Ordinal) ? path + "&" + _apiKeyQuery[1..] : path + _apiKeyQuery));
        request.Headers.TryAddWithoutValidation("Authorization", signer.ServerToken);
        request.Headers.TryAddWithoutValidation("Stream-Auth-Type", "jwt");
        request.Headers.TryAddWithoutValidation("X-Stream-Client", ClientHeader);
        request.Options.Set(StreamResilience.Idempotent, idempotent);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, requestType);
        }

        if (pacing.Turns is { } turns)
        {
            // Before the time budget starts: waiting for a turn is not Stream being slow.
            await turns.WaitTurnAsync(StreamRateLimits.EndpointOf(operation), cancellationToken);
        }

        _budgetEnds ??= Environment.TickCount64 + (long)options.Value.TotalTimeout.TotalMilliseconds;
        var left = _budgetEnds.Value - Environment.TickCount64;
        if (left <= 0)
        {
            LogUnavailable(logger, operation, "time budget used up");
            throw new StreamUnavailableException(operation, new TimeoutException("the time allowed for Stream calls is used up"));
        }

        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(TimeSpan.FromMilliseconds(left));
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, budget.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested
            && ex is HttpRequestException or TimeoutRejectedException or BrokenCircuitException or OperationCanceledException)
        {
            LogUnavailable(logger, operation, ex.GetType().Name);
            throw new StreamUnavailableException(operation, ex);
        }

        using (response)
        {
            try
            {
                if (!response.IsSuccessStatusCode)
                {
                    var error = await StreamApiException.FromResponseAsync(operation, response, time, budget.Token);
                    LogFailed(logger, operation, (int)response.StatusCode, error.Code, error.StreamMessage);
                    throw error;
                }

                return await response.Content.ReadFromJsonAsync(responseType, budget.Token)
                    ?? throw new StreamApiException(operation, response.StatusCode, -1, "empty response", null);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is HttpRequestException or OperationCanceledException)
            {
                // The answer was cut off or came too slowly.
                LogUnavailable(logger, operation, ex.GetType().Name);
                throw new StreamUnavailableException(operation, ex);
            }
        }
    }

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream {Operation} failed with {Status} (code {Code}): {StreamMessage}")]
    private static partial void LogFailed(ILogger logger, string operation, int status, int code, string streamMessage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream {Operation} did not complete ({Reason})")]
    private static partial void LogUnavailable(ILogger logger, string operation, string reason);
}
