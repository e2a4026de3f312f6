using System.Collections.Concurrent;

namespace AppointmentChat.StreamEmulator;

public enum FaultKind
{
    /// <summary>Answer with an error status (and Stream's error body) without doing anything.</summary>
    Error,

    /// <summary>Wait, then handle the request normally.</summary>
    Delay,

    /// <summary>Close the connection without an answer.</summary>
    Drop,

    /// <summary>Handle the request (its effects happen), then answer with an error anyway.</summary>
    ErrorAfterApply,

    /// <summary>Handle the request (its effects happen), then close the connection without an answer.</summary>
    DropAfterApply,
}

/// <summary>A scripted failure for requests to the Stream API that match it.</summary>
public sealed record FaultRule
{
    public FaultKind Kind { get; init; } = FaultKind.Error;

    /// <summary>HTTP method to match; null matches any.</summary>
    public string? Method { get; init; }

    /// <summary>Part of the path to match, e.g. <c>/message</c>; null matches any.</summary>
    public string? PathContains { get; init; }

    public int Status { get; init; } = 503;

    public int DelayMilliseconds { get; init; }

    /// <summary>Sent as <c>Retry-After</c> (seconds) on an error.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>Sent as <c>X-RateLimit-Reset</c> (now + this, in Unix seconds) on an error.</summary>
    public int? ResetInSeconds { get; init; }

    /// <summary>How many matching requests it applies to; 0 or less means every one.</summary>
    public int Times { get; init; } = 1;
}

/// <summary>The active fault rules, consumed in order.</summary>
public sealed class FaultInjector
{
    private readonly ConcurrentQueue<Entry> _rules = new();
    private int _applied;

    /// <summary>How many requests a rule has caught so far: a test can tell that a request it is racing has arrived.</summary>
    public int Applied => Volatile.Read(ref _applied);

    public void Add(FaultRule rule) => _rules.Enqueue(new Entry(rule, rule.Times));

    public void Clear() => _rules.Clear();

    public FaultRule? Take(string method, string path)
    {
        foreach (var entry in _rules)
        {
            var rule = entry.Rule;
            if ((rule.Method is null || string.Equals(rule.Method, method, StringComparison.OrdinalIgnoreCase))
                && (rule.PathContains is null || path.Contains(rule.PathContains, StringComparison.Ordinal))
                && entry.TryUse())
            {
                Interlocked.Increment(ref _applied);
                return rule;
            }
        }

        return null;
    }

    private sealed class Entry(FaultRule rule, int times)
    {
        private int _remaining = times;

        public FaultRule Rule { get; } = rule;

        public bool TryUse()
        {
            if (Rule.Times <= 0)
            {
                return true;
            }

            return Interlocked.Decrement(ref _remaining) >= 0;
        }
    }
}
