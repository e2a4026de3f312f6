using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Auth;

/// <summary>
/// What a caller's id and organisation may be, decided once, when the bearer token is checked: a token whose id or
/// organisation breaks these rules is refused with 401 before any endpoint sees it, so no column and no query meets a
/// value the databases would treat differently (PostgreSQL refuses NUL in text; both cut nothing, refuse too long).
/// <list type="bullet">
/// <item>An id is 1 to 255 characters (OpenID Connect allows subjects that long: service accounts have them), none a
/// control character. Columns that record who did something hold 255.</item>
/// <item>An organisation is an id as appointments carry it: 1 to 64 letters, digits, '@', '_' or '-'.</item>
/// <item>To be a person in a chat — a Stream user with tokens, devices, pushes — an id must also be a Stream user id (1 to
/// 64 letters, digits, '@', '_' or '-'): <see cref="HasChatIdentity"/>. Callers without one (a service account with a
/// long id) may still do what their role allows on appointments and chats.</item>
/// </list>
/// </summary>
internal static class CallerIds
{
    public const int MaxIdLength = 255;

    public static bool IsAcceptableId(string id) =>
        id.Length is > 0 and <= MaxIdLength && !id.Any(char.IsControl) && !HasLoneSurrogate(id);

    public static bool IsAcceptableOrganisation(string organisation) => StreamIds.IsValidUserId(organisation);

    /// <summary>Whether the caller can be a person in a chat (a Stream user).</summary>
    public static bool HasChatIdentity(CurrentUser caller) => StreamIds.IsValidUserId(caller.Id);

    /// <summary>A caller the service accepts whose id is no Stream user id: it has no Stream token and no devices.</summary>
    public static readonly ApiProblem NotAChatUser = new("not-a-chat-user", StatusCodes.Status403Forbidden, "Forbidden");

    public static string ChatIdentityRule => "ids of people in chats " + StreamIds.Describe(StreamIds.MaxUserIdLength, allowAt: true);

    private static bool HasLoneSurrogate(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return true;
            }
        }

        return false;
    }
}
