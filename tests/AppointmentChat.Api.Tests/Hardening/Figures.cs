namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>
/// What a hardening suite measured (the figures in docs/reliability.md): written to the test's
/// output, which <c>dotnet test --logger "console;verbosity=detailed"</c> shows, and to the console.
/// </summary>
internal static class Figures
{
    public static void Report(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        Console.WriteLine(line);
    }
}
