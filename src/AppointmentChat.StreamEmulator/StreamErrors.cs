using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

/// <summary>Stream's error codes (https://getstream.io/chat/docs/api_errors_response/).</summary>
public static class StreamCodes
{
    public const int Internal = -1;
    public const int AccessKey = 2;
    public const int Input = 4;
    public const int Authentication = 5;
    public const int RateLimit = 9;
    public const int DoesNotExist = 16;
    public const int NotAllowed = 17;
    public const int EventNotSupported = 18;
    public const int MessageTooLong = 20;
    public const int PayloadTooBig = 22;
    public const int RequestTimeout = 23;
    public const int TokenExpired = 40;
    public const int TokenNotValidYet = 41;
    public const int TokenBeforeIssuedAt = 42;
    public const int TokenSignatureInvalid = 43;
    public const int ConnectionIdNotFound = 46;
}

/// <summary>A Stream API error: HTTP status, Stream code, and the message Stream would write.</summary>
public sealed class StreamErrorException(int status, int code, string message) : Exception(message)
{
    public int Status { get; } = status;

    public int Code { get; } = code;

    public static StreamErrorException Input(string operation, string detail) =>
        new(400, StreamCodes.Input, $"{operation} failed with error: \"{detail}\"");

    public static StreamErrorException NotFound(string operation, string detail) =>
        new(404, StreamCodes.DoesNotExist, $"{operation} failed with error: \"{detail}\"");

    public static StreamErrorException NotAllowed(string operation, string detail) =>
        new(403, StreamCodes.NotAllowed, $"{operation} failed with error: \"{detail}\"");

    public JsonObject ToBody() => StreamErrors.Body(Status, Code, Message);
}

public static class StreamErrors
{
    public const string MoreInfo = "https://getstream.io/chat/docs/api_errors_response";

    /// <summary>Stream's error body: <c>code</c>, <c>message</c>, <c>StatusCode</c>, <c>duration</c>, <c>more_info</c>.</summary>
    public static JsonObject Body(int status, int code, string message) => new()
    {
        ["code"] = code,
        ["message"] = message,
        ["exception_fields"] = new JsonObject(),
        ["StatusCode"] = status,
        ["duration"] = "0.00ms",
        ["more_info"] = MoreInfo,
    };
}
