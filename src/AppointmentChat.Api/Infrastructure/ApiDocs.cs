using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>Section <c>Docs</c>: the OpenAPI document and the reference page; on by default in Development only.</summary>
internal sealed class DocsOptions
{
    public const string Section = "Docs";

    public bool? Enabled { get; set; }
}

/// <summary>
/// The OpenAPI 3 document at <c>/openapi/v1.json</c>, generated from the endpoints (bodies from their types,
/// errors from their <c>ProducesProblem</c> metadata, bearer authentication from their policies), and the
/// Scalar reference page at <c>/docs</c>, where a developer pastes a dev JWT and tries the endpoints.
/// </summary>
internal static class ApiDocs
{
    public const string DocumentPath = "/openapi/v1.json";
    public const string PagePath = "/docs";
    private const string BearerScheme = "Bearer";

    public static IHostApplicationBuilder AddApiDocs(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DocsOptions>().BindConfiguration(DocsOptions.Section);
        builder.Services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "AppointmentChat",
                    Version = "v1",
                    Description = "Stream Chat tokens, appointment channels, chat lists, webhooks and push for the veterinary apps. "
                        + "Every error is application/problem+json with a sentence in 'detail'.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    BearerFormat = "JWT",
                    Description = "A JWT from your identity provider (in Development: `dotnet run --project src/AppointmentChat.Api -- dev-token --user vet-1 --role vet`).",
                };
                return Task.CompletedTask;
            });
            // Enums travel as their kebab-case names only (KebabCaseEnumConverter); say which.
            options.AddSchemaTransformer((schema, context, _) =>
            {
                var type = Nullable.GetUnderlyingType(context.JsonTypeInfo.Type) ?? context.JsonTypeInfo.Type;
                if (type == typeof(LocalOrOffsetTime))
                {
                    schema.Type = JsonSchemaType.String;
                    schema.Description = "ISO 8601 date-time; without an offset, a wall-clock time in the appointment's organisation's zone.";
                }
                else if (type.IsEnum)
                {
                    schema.Type = JsonSchemaType.String;
                    schema.Enum = [.. Enum.GetNames(type).Select(name => (System.Text.Json.Nodes.JsonNode)System.Text.Json.JsonNamingPolicy.KebabCaseLower.ConvertName(name))];
                }

                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                if (!metadata.OfType<IAllowAnonymous>().Any())
                {
                    operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] }];
                }

                return Task.CompletedTask;
            });
        });
        return builder;
    }

    public static bool DocsEnabled(this WebApplication app) =>
        app.Configuration.GetSection(DocsOptions.Section).Get<DocsOptions>()?.Enabled ?? app.Environment.IsDevelopment();

    public static WebApplication MapApiDocs(this WebApplication app)
    {
        if (!app.DocsEnabled())
        {
            return app;
        }

        app.MapOpenApi(DocumentPath).AllowAnonymous();
        app.MapScalarApiReference(PagePath, options => options
            .WithTitle("AppointmentChat API")
            .WithOpenApiRoutePattern(DocumentPath)
            .AddPreferredSecuritySchemes(BearerScheme))
            .AllowAnonymous();
        return app;
    }

    /// <summary>Documents each status an endpoint answers with ProblemDetails.</summary>
    public static TBuilder ProducesProblems<TBuilder>(this TBuilder builder, params int[] statuses)
        where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), ["application/problem+json"]));
        }

        return builder;
    }
}
