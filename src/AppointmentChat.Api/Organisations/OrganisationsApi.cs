using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Organisations;

/// <summary>A practice's own settings: read and set by its admin, or pushed by the PMS (<c>service</c>).</summary>
internal static class OrganisationsApi
{
    public static RouteGroupBuilder MapOrganisations(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/organisations/{organisationId}/settings").WithTags("Organisations")
            .RequireAuthorization(AuthSetup.PracticePolicy)
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status503ServiceUnavailable);

        group.MapGet("/", GetSettings)
            .WithName("getOrganisationSettings")
            .WithSummary("The settings that apply to an organisation's chats, and which are its own (its admin, the service)")
            .WithResponseExample(StatusCodes.Status200OK, OrganisationSettingsResponse.Example);

        group.MapPut("/", PutSettings)
            .WithName("putOrganisationSettings")
            .ProducesProblems(StatusCodes.Status415UnsupportedMediaType)
            .WithSummary("Set an organisation's own settings, all at once (its admin, the service)")
            .WithDescription("A field left out or null falls back to the service-wide setting. Nothing is stored unless every field is valid.")
            .WithRequestExample(OrganisationSettingsRequest.Example)
            .WithResponseExample(StatusCodes.Status200OK, OrganisationSettingsResponse.Example);

        return group;
    }

    internal static async Task<Results<Ok<OrganisationSettingsResponse>, ValidationProblem, ProblemHttpResult>> GetSettings(
        string organisationId,
        CurrentUser caller,
        PracticeSettingsReader practices,
        CancellationToken cancellationToken)
    {
        if (Refusal(organisationId, caller) is { } refused)
        {
            return refused;
        }

        return TypedResults.Ok(OrganisationSettingsResponse.From(await practices.ForAsync(organisationId, cancellationToken)));
    }

    internal static async Task<Results<Ok<OrganisationSettingsResponse>, ValidationProblem, ProblemHttpResult>> PutSettings(
        string organisationId,
        OrganisationSettingsRequest request,
        CurrentUser caller,
        ChatDbContext db,
        PracticeSettingsReader practices,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (Refusal(organisationId, caller) is { } refused)
        {
            return refused;
        }

        var errors = new RequestErrors();
        if (request.Validate(errors, organisationId) is not { } settings)
        {
            return errors.ToProblem();
        }

        settings.UpdatedAt = time.GetUtcNow();
        await db.UpsertOrganisationSettingsAsync(settings, cancellationToken);
        practices.Forget(organisationId);
        return TypedResults.Ok(OrganisationSettingsResponse.From(await practices.ForAsync(organisationId, cancellationToken)));
    }

    /// <summary>A bad organisation id (400), or a caller who is neither the service nor the organisation's admin (403).</summary>
    private static Results<Ok<OrganisationSettingsResponse>, ValidationProblem, ProblemHttpResult>? Refusal(string organisationId, CurrentUser caller)
    {
        if (!StreamIds.IsValidUserId(organisationId))
        {
            var errors = new RequestErrors();
            errors.Add("organisationId", StreamIds.Describe(StreamIds.MaxUserIdLength, allowAt: true));
            return errors.ToProblem();
        }

        if (!caller.IsService && !caller.IsAdminOf(organisationId))
        {
            return OrganisationProblems.OtherOrganisation.Result("An admin can only manage their own organisation.");
        }

        return null;
    }

    /// <summary>One statement: concurrent first writes of one organisation meet without a duplicate-key error; the last wins.</summary>
    private static async Task UpsertOrganisationSettingsAsync(this ChatDbContext db, OrganisationSettings s, CancellationToken cancellationToken)
    {
        var at = db.Stored<OrganisationSettings>(nameof(OrganisationSettings.UpdatedAt), s.UpdatedAt);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO organisation_settings ("OrganisationId", "TimeZone", "ChatActivationMinutes", "CloseGraceMinutes", "SystemUserName", "EndMessage", "Language", "UpdatedAt")
            VALUES ({s.OrganisationId}, {s.TimeZone}, {s.ChatActivationMinutes}, {s.CloseGraceMinutes}, {s.SystemUserName}, {s.EndMessage}, {s.Language}, {at})
            ON CONFLICT ("OrganisationId") DO UPDATE SET
                "TimeZone" = excluded."TimeZone",
                "ChatActivationMinutes" = excluded."ChatActivationMinutes",
                "CloseGraceMinutes" = excluded."CloseGraceMinutes",
                "SystemUserName" = excluded."SystemUserName",
                "EndMessage" = excluded."EndMessage",
                "Language" = excluded."Language",
                "UpdatedAt" = excluded."UpdatedAt"
            """, cancellationToken);
    }
}

/// <summary>The problems about organisations that apps can act on (docs/api.md, "Problem codes").</summary>
internal static class OrganisationProblems
{
    /// <summary>An admin acts only within their own organisation: its appointments, its settings.</summary>
    public static readonly ApiProblem OtherOrganisation = new("other-organisation", StatusCodes.Status403Forbidden, "Forbidden");
}

internal static class OrganisationsSetup
{
    public static IHostApplicationBuilder AddOrganisations(this IHostApplicationBuilder builder)
    {
        builder.Services.AddApiJsonContext(OrganisationsJsonContext.Default);
        builder.Services.AddSingleton<PracticeSettingsReader>();
        return builder;
    }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(OrganisationSettingsRequest))]
[System.Text.Json.Serialization.JsonSerializable(typeof(OrganisationSettingsResponse))]
internal sealed partial class OrganisationsJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
