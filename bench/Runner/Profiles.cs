using System.Globalization;

namespace AppointmentChat.Bench;

/// <summary>
/// With <c>--trace</c>: a CPU profile of the service (dotnet-trace, sampled stacks, speedscope format) over
/// each measured run, in <c>bench/results/raw/profiles/</c>. The figures of a traced run are depressed by the
/// tracing itself; profile in one run, measure in another.
/// </summary>
internal static class Profiles
{
    /// <summary>Runs <paramref name="measure"/>, with what it cost in CPU, and with a profile of the service when tracing.</summary>
    public static async Task<WrkResult> DuringAsync(BenchOptions options, Proc service, string name, Func<Task<WrkResult>> measure)
    {
        var (result, cpu) = await CpuUse.DuringAsync([service.Id], () => TracedAsync(options, service, name, measure));
        return result with { Cpu = cpu };
    }

    private static async Task<WrkResult> TracedAsync(BenchOptions options, Proc service, string name, Func<Task<WrkResult>> measure)
    {
        if (!options.Trace)
        {
            return await measure();
        }

        var folder = Path.Combine(options.Root, "bench", "results", "raw", "profiles");
        Directory.CreateDirectory(folder);
        var output = Path.Combine(folder, name + ".nettrace");
        var seconds = (int)Math.Ceiling(options.Duration.TotalSeconds);
        await using var trace = Proc.Start(DotnetTrace(), ["collect", "-p", service.Id.ToString(CultureInfo.InvariantCulture),
            "--duration", TimeSpan.FromSeconds(seconds).ToString(@"dd\:hh\:mm\:ss", CultureInfo.InvariantCulture), "--format", "Speedscope", "-o", output]);
        var result = await measure();
        if (await trace.WaitAsync(TimeSpan.FromMinutes(2)) != 0)
        {
            BenchProgram.Log($"dotnet-trace failed for {name}:\n{trace.Output}");
        }
        else
        {
            BenchProgram.Log($"profile of {name}: {Path.ChangeExtension(output, ".speedscope.json")}");
        }

        return result;
    }

    /// <summary>dotnet-trace from PATH or the global tools folder (<c>dotnet tool install -g dotnet-trace</c>).</summary>
    private static string DotnetTrace()
    {
        var global = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-trace");
        return File.Exists(global) ? global : "dotnet-trace";
    }
}
