using System.Data.Common;
using System.Diagnostics;
using AppointmentChat.Api.Infrastructure;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AppointmentChat.Api.Data;

/// <summary>
/// A span for each EF Core command on SQLite (which has no tracing of its own): the statement, never its parameter
/// values, with the attributes Npgsql gives PostgreSQL's (<c>db.system.name</c>, <c>db.query.text</c>).
/// </summary>
internal sealed class DatabaseSpans : DbCommandInterceptor
{
    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Start(command);
        return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Start(command);
        return base.NonQueryExecutingAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        Start(command);
        return base.ScalarExecutingAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
    {
        Stop(command);
        return base.ReaderExecutedAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Stop(command);
        return base.NonQueryExecutedAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<object?> ScalarExecutedAsync(DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default)
    {
        Stop(command);
        return base.ScalarExecutedAsync(command, eventData, result, cancellationToken);
    }

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        if (Take(command) is { } activity)
        {
            activity.SetStatus(ActivityStatusCode.Error, eventData.Exception.GetType().Name);
            activity.Dispose();
        }

        return base.CommandFailedAsync(command, eventData, cancellationToken);
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<DbCommand, Activity> Spans = [];

    private static void Start(DbCommand command)
    {
        // Nothing to do, and nothing spent, unless a tracer listens (only with an OTLP exporter).
        if (!ChatMetrics.Activities.HasListeners())
        {
            return;
        }

        var activity = ChatMetrics.Activities.StartActivity("sqlite", ActivityKind.Client);
        if (activity is null)
        {
            return;
        }

        activity.SetTag("db.system.name", "sqlite");
        activity.SetTag("db.query.text", command.CommandText);
        Spans.AddOrUpdate(command, activity);
    }

    private static void Stop(DbCommand command) => Take(command)?.Dispose();

    private static Activity? Take(DbCommand command)
    {
        if (!Spans.TryGetValue(command, out var activity))
        {
            return null;
        }

        Spans.Remove(command);
        return activity;
    }
}
