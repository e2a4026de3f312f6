using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AppointmentChat.Api.Operator;

/// <summary>One action an operator took on stuck work: who (id and roles), what, on which item, when, and how it ended.</summary>
internal sealed class OperatorAction
{
    public long Id { get; init; }

    public DateTimeOffset At { get; init; }

    /// <summary>The caller's user id, whole (up to <see cref="CallerIds.MaxIdLength"/>).</summary>
    public required string ActorId { get; init; }

    /// <summary>The caller's roles the service knows, comma-separated (<c>operator</c>, <c>service</c>).</summary>
    public required string ActorRoles { get; init; }

    /// <summary><c>retry</c> or <c>discard</c>.</summary>
    public required string Action { get; init; }

    /// <summary><c>webhook</c>, <c>chat</c> or <c>push</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>The webhook event's or push's id, or the chat's appointment id.</summary>
    public required string ItemId { get; init; }

    /// <summary><c>done</c>, <c>not-found</c> (no such item with a problem) or <c>busy</c> (a worker held it).</summary>
    public required string Outcome { get; init; }

    /// <summary>The item's last error when the action was taken, so a discard keeps what was given up on.</summary>
    public string? Error { get; init; }

    public const int MaxErrorLength = 1000;
}

internal static class OperatorActions
{
    public const string Retry = "retry";
    public const string Discard = "discard";

    public const string Webhook = "webhook";
    public const string Chat = "chat";
    public const string Push = "push";
    public const string Transcript = "transcript";

    public const string Done = "done";
    public const string NotFound = "not-found";
    public const string Busy = "busy";
}

internal sealed class OperatorActionConfiguration : IEntityTypeConfiguration<OperatorAction>
{
    public void Configure(EntityTypeBuilder<OperatorAction> builder)
    {
        builder.ToTable("operator_audit");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.ActorId).HasMaxLength(CallerIds.MaxIdLength);
        builder.Property(a => a.ActorRoles).HasMaxLength(100);
        builder.Property(a => a.Action).HasMaxLength(16);
        builder.Property(a => a.Kind).HasMaxLength(16);
        builder.Property(a => a.ItemId).HasMaxLength(64);
        builder.Property(a => a.Outcome).HasMaxLength(16);
        builder.Property(a => a.Error).HasMaxLength(OperatorAction.MaxErrorLength);
    }
}

/// <summary>
/// Records every operator action twice: a log line at Information with a fixed event id (<see cref="AuditEventId"/>),
/// for log pipelines, and a row in <c>operator_audit</c>, listed by <c>GET /api/operator/audit</c>.
/// </summary>
internal sealed partial class OperatorAudit(ChatDbContext db, TimeProvider time, ILogger<OperatorAudit> logger)
{
    public const int AuditEventId = 7100;

    public async Task RecordAsync(CurrentUser caller, string action, string kind, string itemId, string outcome, string? error, CancellationToken cancellationToken)
    {
        var roles = string.Join(',', caller.Roles.Where(r => r is Roles.Operator or Roles.Service));
        LogAction(logger, caller.Id, roles, action, kind, itemId, outcome);
        db.Add(new OperatorAction
        {
            At = time.GetUtcNow(),
            ActorId = caller.Id,
            ActorRoles = roles,
            Action = action,
            Kind = kind,
            ItemId = itemId,
            Outcome = outcome,
            Error = error is { Length: > OperatorAction.MaxErrorLength } ? error[..OperatorAction.MaxErrorLength] : error,
        });
        // Recorded even when the request is abandoned after the action was taken.
        await db.SaveChangesAsync(CancellationToken.None);
    }

    public Task<List<OperatorAuditEntry>> ListAsync(int take, CancellationToken cancellationToken) =>
        db.Set<OperatorAction>().AsNoTracking()
            .OrderByDescending(a => a.Id)
            .Take(take)
            .Select(a => new OperatorAuditEntry(a.Id, a.At, a.ActorId, a.ActorRoles, a.Action, a.Kind, a.ItemId, a.Outcome, a.Error))
            .ToListAsync(cancellationToken);

    [LoggerMessage(EventId = AuditEventId, EventName = "OperatorAction", Level = LogLevel.Information,
        Message = "Operator {ActorId} ({ActorRoles}) asked to {Action} {Kind} {ItemId}: {Outcome}")]
    private static partial void LogAction(ILogger logger, string actorId, string actorRoles, string action, string kind, string itemId, string outcome);
}

/// <summary>An operator action as <c>GET /api/operator/audit</c> lists it.</summary>
internal sealed record OperatorAuditEntry(
    long Id, DateTimeOffset At, string ActorId, string ActorRoles, string Action, string Kind, string ItemId, string Outcome, string? Error);
