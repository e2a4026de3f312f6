using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Operations;

/// <summary>
/// The command line: no command serves; <c>migrate</c>, <c>healthcheck</c> and <c>dev-token</c> do one job and exit;
/// <c>--help</c> prints usage. Anything else that is not a configuration argument (<c>--urls http://…</c>,
/// <c>--Chat:TokenLifetime=…</c>, <c>Chat:TokenLifetime=…</c>) is refused rather than started as a server.
/// </summary>
internal sealed class ServiceCommands
{
    public const string Usage = """
        usage: AppointmentChat.Api [command] [--setting value ...]

        commands:
          (none)        serve the API (applies database migrations first unless Database__MigrateAtStart=false)
          migrate       apply the database migrations, then exit (0 applied, 1 failed)
          healthcheck   ask the instance on this machine whether it is live (--ready: ready); exit 0 or 1
          dev-token     print a caller JWT signed with the service's own key: dev-token --user <id> [--role <role>] [--org <id>]

        main settings (environment variables; any can also be given as --Section:Key=value):
          DATABASE_URL                    PostgreSQL (unset: a SQLite file, Development or Database__UseSqlite=true)
          STREAM_API_KEY / STREAM_API_SECRET   Stream app (unset: the built-in emulator, Development or Stream__UseEmulator=true)
          JWT_SECRET or Auth__Authority   how callers' bearer tokens are checked
          REDIS_URL                       rate limits shared by every instance
          ASPNETCORE_URLS                 where it listens (e.g. http://+:8080)
          ASPNETCORE_ENVIRONMENT          Development or not

        every setting: docs/settings.md; running it: docs/operating.md
        """;

    private readonly string[] _args;

    private ServiceCommands(string[] args, string? name, string[] arguments, int? exitCode)
    {
        _args = args;
        Name = name;
        Arguments = arguments;
        ExitCode = exitCode;
    }

    /// <summary>The command named first on the command line; null to serve.</summary>
    public string? Name { get; }

    /// <summary>The arguments after the command's name.</summary>
    public string[] Arguments { get; }

    /// <summary>Set when the command line was answered already (usage, or an unknown command).</summary>
    public int? ExitCode { get; }

    public static ServiceCommands Parse(string[] args)
    {
        switch (args)
        {
            case ["--help" or "-h" or "-?" or "help", ..]:
                Console.Out.WriteLine(Usage);
                return new(args, null, [], 0);
            case [DevTokens.CommandName or DatabaseStart.MigrateCommand or HealthCheckCommand.Name, .. var rest]:
                return new(args, args[0], rest, null);
            case [var first, ..] when !first.StartsWith('-') && !first.StartsWith('/') && !first.Contains('='):
                Console.Error.WriteLine($"Unknown command '{first}': use migrate, healthcheck or dev-token, or none to serve (--help for usage).");
                return new(args, null, [], 2);
            default:
                return new(args, null, args, null);
        }
    }

    /// <summary>
    /// The builder's options: the application's own folder is the content root (appsettings.json, the data folder)
    /// wherever it is started from, unless a content root is given (<c>--contentRoot</c>, <c>ASPNETCORE_CONTENTROOT</c>,
    /// <c>DOTNET_CONTENTROOT</c>) or it runs from its project folder (<c>dotnet run</c>), which keeps the source tree's
    /// data folder and demo page.
    /// </summary>
    public WebApplicationOptions BuilderOptions() => new() { Args = _args, ContentRootPath = DefaultContentRoot(_args) };

    private static string? DefaultContentRoot(string[] args)
    {
        var given = args.Any(a => a.TrimStart('-', '/').StartsWith("contentRoot", StringComparison.OrdinalIgnoreCase))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT"))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_CONTENTROOT"));
        if (given)
        {
            return null;
        }

        var workingDirectory = Directory.GetCurrentDirectory();
        var projectFile = $"{typeof(ServiceCommands).Assembly.GetName().Name}.csproj";
        return File.Exists(Path.Combine(workingDirectory, projectFile)) ? workingDirectory : AppContext.BaseDirectory;
    }

    /// <summary>Runs the named command to its exit code.</summary>
    public Task<int> RunAsync(WebApplicationBuilder builder) => Name switch
    {
        DevTokens.CommandName => Task.FromResult(DevTokens.RunCommand(builder, Arguments)),
        DatabaseStart.MigrateCommand => DatabaseStart.RunMigrateCommandAsync(builder),
        _ => HealthCheckCommand.RunAsync(builder.Configuration, Arguments),
    };
}
