using AppointmentChat.Api.Data;

namespace AppointmentChat.Api.Tests.Data;

/// <summary>The turns SQLite's writers take: in arrival order, so a busy writer cannot starve another.</summary>
public sealed class WriteTurnsTests
{
    [Fact]
    public async Task AWriterThatComesBackAtOnceQueuesBehindTheOneAlreadyWaiting()
    {
        var gate = new WriteTurns(takeTurns: true);
        var first = await gate.EnterAsync(CancellationToken.None);
        var waiting = gate.EnterAsync(CancellationToken.None).AsTask(); // queued: the turn is taken
        Assert.False(waiting.IsCompleted);

        first.Dispose();
        var cameBack = gate.EnterAsync(CancellationToken.None).AsTask();

        // The turn went to the writer that was waiting; the one that came back waits for it.
        var second = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(cameBack.IsCompleted);
        second.Dispose();
        (await cameBack.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
    }

    [Fact]
    public async Task AWriterThatGivesUpWaitingDoesNotKeepTheTurn()
    {
        var gate = new WriteTurns(takeTurns: true);
        var first = await gate.EnterAsync(CancellationToken.None);
        using var giveUp = new CancellationTokenSource();
        var abandoned = gate.EnterAsync(giveUp.Token).AsTask();

        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        first.Dispose();

        var next = gate.EnterAsync(CancellationToken.None).AsTask();
        Assert.Same(next, await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(5))));
        (await next).Dispose();
    }

    [Fact]
    public async Task OnPostgresTheGateIsOpen()
    {
        var gate = new WriteTurns(takeTurns: false);
        using var one = await gate.EnterAsync(CancellationToken.None);
        var two = gate.EnterAsync(CancellationToken.None).AsTask();
        Assert.True(two.IsCompletedSuccessfully);
        (await two).Dispose();
    }
}
