using System.Text.Json.Nodes;

namespace AppointmentChat.Api.Stream;

// What Stream holds about one user, and its deletion (Privacy).
internal sealed partial class StreamChatClient
{
    /// <summary>The user as Stream has it (<c>GET /users</c>, <c>id $eq</c>), every field it holds; null when Stream has no such user.</summary>
    public async Task<JsonObject?> QueryUserAsync(string userId, CancellationToken cancellationToken)
    {
        var payload = new JsonObject
        {
            ["filter_conditions"] = new JsonObject { ["id"] = new JsonObject { ["$eq"] = userId } },
            ["limit"] = 1,
        };
        var response = await SendAsync<JsonObject, JsonObject>(HttpMethod.Get, "users?payload=" + Uri.EscapeDataString(payload.ToJsonString()), null,
            StreamJsonContext.Default.JsonObject, StreamJsonContext.Default.JsonObject, "QueryUsers", idempotent: true, cancellationToken);
        return response["users"] is JsonArray { Count: > 0 } users ? users[0] as JsonObject : null;
    }

    /// <summary>
    /// Deletes a user (<c>DELETE /users/{id}</c>, query parameters <c>hard_delete</c>, <c>mark_messages_deleted</c>,
    /// <c>delete_conversation_channels</c>: stream-chat-go <c>user.go</c> <c>DeleteUser</c> and its
    /// <c>DeleteUserWith…</c> options; stream-cli <c>chat delete-user</c>). Chosen over the batch <c>POST /users/delete</c>
    /// (up to 100 users, <c>user</c>/<c>messages</c>/<c>conversations</c>: soft|hard, answered with a <c>task_id</c> to poll
    /// at <c>GET /tasks/{id}</c>) because the service erases one user per request and records each step's outcome: one
    /// call whose answer is the outcome, no task to track across a crash. Safe to repeat: a user already gone is 404,
    /// which <see cref="StreamApiException.IsNotFound"/> tells the caller. The answer is Stream's, kept whole (it may carry
    /// a <c>task_id</c> where Stream completes the deletion in the background).
    /// </summary>
    public Task<JsonObject> DeleteUserAsync(string userId, bool hardDelete, bool markMessagesDeleted, CancellationToken cancellationToken)
    {
        var query = $"?hard_delete={(hardDelete ? "true" : "false")}&mark_messages_deleted={(markMessagesDeleted ? "true" : "false")}&delete_conversation_channels=false";
        return SendAsync<JsonObject, JsonObject>(HttpMethod.Delete, $"users/{Escape(userId)}{query}", null, StreamJsonContext.Default.JsonObject,
            StreamJsonContext.Default.JsonObject, "DeleteUser", idempotent: true, cancellationToken);
    }
}
