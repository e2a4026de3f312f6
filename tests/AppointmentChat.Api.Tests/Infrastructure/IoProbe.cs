using System.Data.Common;
using AppointmentChat.Api.Data;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// Counts the database commands and outgoing HTTP requests an app makes while it handles a request — not its background
/// workers', whose polls come and go with the clock and would make a count of a request's I/O flaky.
/// </summary>
public sealed class IoProbe
{
    private int _commands;
    private int _requests;

    public int DatabaseCommands => Volatile.Read(ref _commands);

    public int OutgoingRequests => Volatile.Read(ref _requests);

    /// <summary>The request being handled on this flow, if any (the accessor's current context is shared by every instance).</summary>
    private static readonly HttpContextAccessor Requests = new();

    private static bool InRequest => Requests.HttpContext is not null;

    public void Install(IServiceCollection services)
    {
        services.AddHttpContextAccessor(); // so the host sets the current request for the accessor
        var interceptor = new CommandCounter(this);
        services.ConfigureDbContext<SqliteChatDbContext>(options => options.AddInterceptors(interceptor));
        services.ConfigureDbContext<PostgresChatDbContext>(options => options.AddInterceptors(interceptor));
        services.ConfigureAll<HttpClientFactoryOptions>(options =>
            options.HttpMessageHandlerBuilderActions.Add(builder => builder.AdditionalHandlers.Insert(0, new RequestCounter(this))));
    }

    private sealed class CommandCounter(IoProbe probe) : DbCommandInterceptor
    {
        public override DbCommand CommandInitialized(CommandEndEventData eventData, DbCommand result)
        {
            if (InRequest)
            {
                Interlocked.Increment(ref probe._commands);
            }

            return result;
        }
    }

    private sealed class RequestCounter(IoProbe probe) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (InRequest)
            {
                Interlocked.Increment(ref probe._requests);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
