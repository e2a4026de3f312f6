using System.Diagnostics;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// Debian's headless Chromium, started the way this machine allows (no sandbox as root, no background
/// networking). Tests that need it skip where it is absent, except under CI=true, where they fail.
/// </summary>
public static class Chromium
{
    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

    public static string? Path => Candidates.FirstOrDefault(File.Exists);

    public static string Require()
    {
        if (Path is { } path)
        {
            return path;
        }

        const string message = "Chromium is not installed (Debian package 'chromium'); .ci/run installs it.";
        if (TestDatabase.InCi)
        {
            throw new InvalidOperationException("CI=true requires Chromium: " + message);
        }

        Assert.Skip(message);
        return "";
    }

    /// <summary>Runs headless Chromium with <paramref name="arguments"/> and returns what it printed.</summary>
    public static async Task<string> RunAsync(IEnumerable<string> arguments, TimeSpan timeout)
    {
        var profile = Directory.CreateTempSubdirectory("chromium-profile-").FullName;
        var start = new ProcessStartInfo(Require())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile}",
        }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        try
        {
            Directory.Delete(profile, recursive: true);
        }
        catch (IOException)
        {
        }

        return await output;
    }

    /// <summary>Where tests leave files for people to look at (screenshots): TestResults/artifacts at the repository root.</summary>
    public static string ArtifactsFolder()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(System.IO.Path.Combine(directory.FullName, "AppointmentChat.slnx")))
        {
            directory = directory.Parent;
        }

        var folder = System.IO.Path.Combine(directory?.FullName ?? System.IO.Path.GetTempPath(), "TestResults", "artifacts");
        Directory.CreateDirectory(folder);
        return folder;
    }
}
