using System.Data.Common;
using System.Net.Sockets;
using AppointmentChat.Api.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Data;

/// <summary>
/// How the service starts: Kestrel listens first (so <c>/health/live</c> answers while a migration runs), then the
/// database is migrated (<c>Database__MigrateAtStart</c>, default) or waited for until the <c>migrate</c> command has
/// migrated it, then the service's own background work starts. Until then every request but the health checks is
/// answered 503, and <c>/health/ready</c> is 503 with the migrations it is waiting for.
/// </summary>
internal static partial class DatabaseStart
{
    public const string MigrateCommand = "migrate";

    private static readonly TimeSpan PendingPollInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Holds back every hosted service the service registered above (workers, start-up upgrades, the emulator) until
    /// the database is migrated. Call it after the last <c>AddXxx</c> that adds one.
    /// </summary>
    public static IHostApplicationBuilder StartWorkersAfterMigration(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var ours = services.Where(d => d.ServiceType == typeof(IHostedService) && !d.IsKeyedService && IsOurs(d)).ToList();
        foreach (var descriptor in ours)
        {
            services.Remove(descriptor);
        }

        services.AddSingleton(new HeldBackServices(ours));
        services.AddSingleton<ServiceStart>();
        services.AddHostedService(sp => sp.GetRequiredService<ServiceStart>());
        services.AddSingleton<IStartupFilter, StartingGate>();
        return builder;
    }

    private static bool IsOurs(ServiceDescriptor descriptor)
    {
        var type = descriptor.ImplementationType ?? descriptor.ImplementationInstance?.GetType() ?? descriptor.ImplementationFactory?.Method.DeclaringType;
        return type?.Assembly.GetName().Name?.StartsWith("AppointmentChat.", StringComparison.Ordinal) == true;
    }

    /// <summary>The <c>migrate</c> command: applies the missing migrations and exits 0, or prints one line and exits 1.</summary>
    public static async Task<int> RunMigrateCommandAsync(WebApplicationBuilder builder)
    {
        builder.AddServiceDefaults();
        builder.AddChatDatabase();
        await using var app = builder.Build();
        if (!app.HasValidSettings())
        {
            return 1;
        }

        var database = app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        try
        {
            var applied = await app.Services.MigrateDatabaseAsync();
            Console.Out.WriteLine($"{database.Describe()}: {applied} migration(s) applied; the schema is up to date.");
            return 0;
        }
        catch (Exception ex) when (Failure(ex, database) is { } line)
        {
            Console.Error.WriteLine(line);
            return 1;
        }
    }

    /// <summary>One line for a database that cannot be reached or migrated; null for anything else (a bug).</summary>
    public static string? Failure(Exception exception, DatabaseOptions database) => exception is DbException or SocketException or TimeoutException
        ? $"Database error: {database.Describe()} cannot be migrated: {exception.Message.Split('\n')[0].Trim()}"
        : null;

    /// <summary>Lets requests through once the service has started; until then only the health checks.</summary>
    private sealed class StartingGate(ServiceStart start) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (http, nextMiddleware) =>
            {
                if (start.HasStarted || http.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase))
                {
                    await nextMiddleware(http);
                    return;
                }

                http.Response.Headers.RetryAfter = "5";
                await TypedResults.Problem(ApiProblem.ServiceUnavailable.Details(
                    "The service is starting (its database is being migrated); retry shortly.")).ExecuteAsync(http);
            });
            next(app);
        };
    }

    /// <summary>
    /// The hosted services held back until the database is migrated, started in this order. A registration of its own,
    /// so that what is held back can still be changed after <see cref="StartWorkersAfterMigration"/> (the tests take a
    /// worker out to drive its work by hand).
    /// </summary>
    internal sealed class HeldBackServices(List<ServiceDescriptor> descriptors)
    {
        public List<ServiceDescriptor> Descriptors { get; } = descriptors;
    }

    /// <summary>Migrates, then starts the held-back hosted services in order; stops them in reverse.</summary>
    internal sealed partial class ServiceStart(
        HeldBackServices heldBack,
        IServiceProvider services,
        IOptions<DatabaseOptions> options,
        TimeProvider time,
        ILogger<ServiceStart> logger) : IHostedLifecycleService
    {
        private readonly List<IHostedService> _started = [];
        private volatile bool _hasStarted;

        public bool HasStarted => _hasStarted;

        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        /// <summary>After every StartAsync (Kestrel listens), before the host reports itself started.</summary>
        public async Task StartedAsync(CancellationToken cancellationToken)
        {
            var database = options.Value;
            var described = database.Describe();
            LogDatabase(logger, described, database.MigrateAtStart);
            try
            {
                if (database.MigrateAtStart)
                {
                    var applied = await services.MigrateDatabaseAsync(cancellationToken);
                    LogMigrated(logger, applied);
                }
                else
                {
                    await WaitForMigrationsAsync(cancellationToken);
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && Failure(ex, database) is { } line)
            {
                throw new StartupFailure(line);
            }

            foreach (var descriptor in heldBack.Descriptors)
            {
                var service = Create(descriptor);
                await service.StartAsync(cancellationToken);
                _started.Add(service);
            }

            _hasStarted = true;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            for (var i = _started.Count - 1; i >= 0; i--)
            {
                await _started[i].StopAsync(cancellationToken);
            }
        }

        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        private IHostedService Create(ServiceDescriptor descriptor) =>
            (IHostedService)(descriptor.ImplementationInstance
                ?? descriptor.ImplementationFactory?.Invoke(services)
                ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));

        /// <summary>With <c>Database__MigrateAtStart=false</c>: waits for the <c>migrate</c> command (a job, an init container).</summary>
        private async Task WaitForMigrationsAsync(CancellationToken cancellationToken)
        {
            var logged = false;
            while (true)
            {
                await using (var scope = services.CreateAsyncScope())
                {
                    var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
                    var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).Count();
                    if (pending == 0)
                    {
                        return;
                    }

                    if (!logged)
                    {
                        LogWaiting(logger, pending);
                        logged = true;
                    }
                }

                await Task.Delay(PendingPollInterval, time, cancellationToken);
            }
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "Database: {Database} (migrations applied at start: {MigrateAtStart})")]
        private static partial void LogDatabase(ILogger logger, string database, bool migrateAtStart);

        [LoggerMessage(Level = LogLevel.Information, Message = "Database migrated: {Applied} migration(s) applied")]
        private static partial void LogMigrated(ILogger logger, int applied);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Database: {Pending} migration(s) not applied; waiting for the migrate command to apply them (Database__MigrateAtStart=false)")]
        private static partial void LogWaiting(ILogger logger, int pending);
    }
}
