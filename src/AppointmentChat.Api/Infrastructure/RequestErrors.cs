using Microsoft.AspNetCore.Http.HttpResults;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// Collects field errors for one request and turns them into a 400 ValidationProblem whose
/// <c>detail</c> names every field at fault, keyed by the field's JSON name.
/// </summary>
internal sealed class RequestErrors
{
    private readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public void Add(string field, string message) =>
        _errors[field] = _errors.TryGetValue(field, out var existing) ? [.. existing, message] : [message];

    /// <summary>Checks a required, single-line, human-readable text such as a name.</summary>
    public string? RequiredText(string field, string? value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, "is required.");
            return null;
        }

        return OptionalText(field, value, maxLength);
    }

    /// <summary>Checks an optional, single-line, human-readable text; blank becomes null.</summary>
    public string? OptionalText(string field, string? value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var trimmed = value.Trim();
        if (trimmed.Length > maxLength)
        {
            Add(field, $"must be at most {maxLength} characters.");
        }
        else if (trimmed.AsSpan().IndexOfAnyInRange('\0', '\u001f') >= 0 || trimmed.Contains('\u007f'))
        {
            Add(field, "must not contain control characters.");
        }

        return trimmed;
    }

    /// <summary>Checks a required id against Stream's rules for ids.</summary>
    public string? RequiredId(string field, string? value, int maxLength, bool allowAt = true)
    {
        if (string.IsNullOrEmpty(value))
        {
            Add(field, "is required.");
            return null;
        }

        if (!StreamIds.IsValid(value, maxLength, allowAt))
        {
            Add(field, StreamIds.Describe(maxLength, allowAt));
            return null;
        }

        return value;
    }

    public int? IntInRange(string field, int? value, int min, int max, bool required)
    {
        if (value is null)
        {
            if (required)
            {
                Add(field, "is required.");
            }

            return null;
        }

        if (value < min || value > max)
        {
            Add(field, $"must be between {min} and {max}.");
            return null;
        }

        return value;
    }

    public ValidationProblem ToProblem()
    {
        var summary = string.Join("; ", _errors.Select(e => $"'{e.Key}' {string.Join(" ", e.Value)}"));
        return TypedResults.ValidationProblem(_errors, detail: $"The request is not valid: {summary}");
    }
}

/// <summary>Stream's rules for user and channel ids.</summary>
internal static class StreamIds
{
    public const int MaxUserIdLength = 64;
    public const int MaxChannelIdLength = 64;

    /// <summary>User ids: letters, digits, '@', '_' and '-'. Channel ids: the same without '@' (Stream also allows '!').</summary>
    public static bool IsValid(ReadOnlySpan<char> value, int maxLength, bool allowAt = true)
    {
        if (value.IsEmpty || value.Length > maxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-' || (allowAt && c == '@')))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidUserId(ReadOnlySpan<char> value) => IsValid(value, MaxUserIdLength);

    public static string Describe(int maxLength, bool allowAt) => allowAt
        ? $"must be 1 to {maxLength} characters of letters, digits, '@', '_' or '-'."
        : $"must be 1 to {maxLength} characters of letters, digits, '_' or '-'.";
}
