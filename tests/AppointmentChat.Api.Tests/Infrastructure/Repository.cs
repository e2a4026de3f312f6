namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>The repository the tests run from, for tests that read its sources and docs.</summary>
public static class Repository
{
    public static string Root()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AppointmentChat.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("the repository root (AppointmentChat.slnx) was not found above " + AppContext.BaseDirectory);
    }
}
