using System.Globalization;

namespace AppointmentChat.Bench;

/// <summary>
/// Where the machine's CPU went during a measured run, in cores (CPU seconds per second): the service, PostgreSQL
/// (every <c>postgres</c> process), the load generator (wrk, and this process, which sends the paced webhooks) and
/// the whole machine, and what the VM's host took from it (steal: time the hypervisor ran something else while this
/// machine had work). Read from /proc, so it costs the run nothing; with everything on one machine it shows what
/// each side takes of the same cores, and a run the host slowed shows as one.
/// </summary>
internal sealed record CpuUse(double Service, double Postgres, double Load, double Machine, double Stolen)
{
    /// <summary>Microseconds of CPU per request for <paramref name="cores"/> at <paramref name="requestsPerSecond"/>.</summary>
    public static double PerRequestMicroseconds(double cores, double requestsPerSecond) => requestsPerSecond > 0 ? cores * 1e6 / requestsPerSecond : 0;

    public static async Task<(T Result, CpuUse Cpu)> DuringAsync<T>(IReadOnlyCollection<int> servicePids, Func<Task<T>> measure)
    {
        var before = Snapshot.Take(servicePids);
        var result = await measure();
        return (result, Snapshot.Take(servicePids).Since(before));
    }

    /// <param name="Postgres">Ticks of each <c>postgres</c> process by pid: backends start and end during a run (a pool
    /// prunes idle connections), and a sum taken at both ends would count one that ended as negative time.</param>
    private readonly record struct Snapshot(DateTime At, long Service, Dictionary<int, long> Postgres, long Load, long MachineBusy, long Stolen)
    {
        public static Snapshot Take(IReadOnlyCollection<int> servicePids)
        {
            var postgres = new Dictionary<int, long>();
            foreach (var folder in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(folder), out var pid) || servicePids.Contains(pid))
                {
                    continue;
                }

                if (ProcFs.Read($"{folder}/comm")?.Trim() == "postgres")
                {
                    postgres[pid] = ProcFs.Ticks($"/proc/{pid}/stat");
                }
            }

            // The load generator: this process (the paced sender runs in it) and wrk, a child that starts and ends
            // within the run and whose time the kernel adds to this process's children's once it is reaped.
            var load = ProcFs.Ticks($"/proc/{Environment.ProcessId}/stat", withReapedChildren: true);

            // The first line of /proc/stat: cpu user nice system idle iowait irq softirq steal …
            var machine = (ProcFs.Read("/proc/stat") ?? "").Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            var busy = machine.Length >= 8 ? machine[0] + machine[1] + machine[2] + machine[5] + machine[6] + machine[7] : 0;
            var stolen = machine.Length >= 8 ? machine[7] : 0;
            return new Snapshot(DateTime.UtcNow, servicePids.Sum(pid => ProcFs.Ticks($"/proc/{pid}/stat")), postgres, load, busy, stolen);
        }

        public CpuUse Since(Snapshot before)
        {
            var seconds = (At - before.At).TotalSeconds;
            double Cores(long ticks) => ticks / ProcFs.TicksPerSecond / seconds;
            // A backend that started during the run counts from zero; one that ended during it is not seen, so PostgreSQL's
            // share is a lower bound when backends come and go.
            var postgres = Postgres.Sum(p => p.Value - before.Postgres.GetValueOrDefault(p.Key));
            return new CpuUse(Cores(Service - before.Service), Cores(postgres), Cores(Load - before.Load), Cores(MachineBusy - before.MachineBusy), Cores(Stolen - before.Stolen));
        }
    }
}

/// <summary>Reads CPU times from /proc, for <see cref="CpuUse"/> and <see cref="Warming"/>.</summary>
internal static class ProcFs
{
    /// <summary>Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux).</summary>
    public const double TicksPerSecond = 100;

    /// <summary>
    /// User plus system time in a process's or thread's <paramref name="statPath"/> (/proc/&lt;pid&gt;/stat or
    /// /proc/&lt;pid&gt;/task/&lt;tid&gt;/stat) so far, and its reaped children's if asked; 0 if it has gone.
    /// </summary>
    public static long Ticks(string statPath, bool withReapedChildren = false)
    {
        // "pid (comm) state …" with utime, stime, cutime and cstime the 14th to 17th fields; comm may hold spaces.
        var stat = Read(statPath);
        if (stat is null || stat.LastIndexOf(')') is var end && end < 0)
        {
            return 0;
        }

        var fields = stat[(end + 2)..].Split(' ');
        long Field(int i) => long.Parse(fields[i], CultureInfo.InvariantCulture);
        return Field(11) + Field(12) + (withReapedChildren ? Field(13) + Field(14) : 0);
    }

    public static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
