using System.Data.Common;
using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>Counts the database commands and outgoing HTTP requests an app makes.</summary>
public sealed class IoProbe
{
    private int _commands;
    private int _requests;

    public int DatabaseCommands => Volatile.Read(ref _commands);

    public int OutgoingRequests => Volatile.Read(ref _requests);

    public void Install(IServiceCollection services)
    {
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
            Interlocked.Increment(ref probe._commands);
            return result;
        }
    }

    private sealed class RequestCounter(IoProbe probe) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref probe._requests);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
