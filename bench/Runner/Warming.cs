using System.Globalization;

namespace AppointmentChat.Bench;

/// <summary>
/// A scenario's warm-up: its own load for at least <see cref="Least"/>, and on, in steps, while the process's tiered
/// JIT is still compiling, up to <see cref="Most"/>. A fixed warm-up was measured too short for some paths: during the
/// PostgreSQL list the JIT's thread was still taking 14–17 % of the service's CPU 21 s after the list's first request
/// (4,970 lists/s, then 6,464 in the run right after, with nothing compiled). A service in production runs for hours;
/// the benchmark measures it as it runs then, and warms the ceiling the same way.
/// </summary>
internal static class Warming
{
    public static readonly TimeSpan Least = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan Most = TimeSpan.FromSeconds(40);

    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);

    /// <summary>
    /// JIT work below this many cores over a whole step counts as settled. Measured on the token path, the JIT took
    /// 0.14, 0.33 and 0.14 cores in its first three steps, then 0.02–0.04 for as long as it was watched: the odd method
    /// of the background workers and rarer branches, not the path being measured.
    /// </summary>
    private const double SettledCores = 0.025;

    /// <summary>
    /// The name the runtime gives its tiered compilation worker, as Linux keeps it (15 characters of
    /// ".NET Tiered Compilation Worker").
    /// </summary>
    private const string JitThread = ".NET Tiered Com";

    /// <summary>Runs <paramref name="load"/> (given how long) until the JIT has settled; returns how long it warmed.</summary>
    public static async Task<TimeSpan> WarmUpAsync(Proc process, string name, Func<TimeSpan, Task> load)
    {
        var warmed = TimeSpan.Zero;
        var steps = new List<double>();
        double jitCores;
        do
        {
            var before = JitTicks(process.Id);
            var started = DateTime.UtcNow;
            await load(Step);
            warmed += Step;
            jitCores = JitTicksSince(process.Id, before) / ProcFs.TicksPerSecond / (DateTime.UtcNow - started).TotalSeconds;
            steps.Add(jitCores);
        }
        while (warmed < Least || (jitCores >= SettledCores && warmed < Most));

        BenchProgram.Log(string.Create(CultureInfo.InvariantCulture, $"{name}: warmed up {warmed.TotalSeconds:F0} s (the JIT's cores in each {Step.TotalSeconds:F0} s: {string.Join(", ", steps.Select(c => c.ToString("F3", CultureInfo.InvariantCulture)))})"));
        return warmed;
    }

    /// <summary>CPU ticks of each tiered-compilation thread of the process, by thread id.</summary>
    private static Dictionary<int, long> JitTicks(int pid)
    {
        var ticks = new Dictionary<int, long>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                if (int.TryParse(Path.GetFileName(task), out var tid) && ProcFs.Read($"{task}/comm")?.Trim() == JitThread)
                {
                    ticks[tid] = ProcFs.Ticks($"{task}/stat");
                }
            }
        }
        catch (DirectoryNotFoundException)
        {
            // The process has gone; its warm-up is over.
        }

        return ticks;
    }

    /// <summary>
    /// The JIT's ticks since <paramref name="before"/>. The runtime ends an idle worker and starts a new one when there
    /// is work again, so a thread that was not there before counts from zero; one that ended meanwhile had gone idle.
    /// </summary>
    private static long JitTicksSince(int pid, Dictionary<int, long> before) =>
        JitTicks(pid).Sum(thread => thread.Value - before.GetValueOrDefault(thread.Key));
}
