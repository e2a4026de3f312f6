using System.Security.Cryptography;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// The folder where the service keeps what it generates for itself on a developer machine:
/// the SQLite database, the development JWT signing key and the local Stream secret.
/// </summary>
internal sealed class DataFolder
{
    public const string SettingName = "Storage:DataFolder";

    public DataFolder(IConfiguration configuration, IHostEnvironment environment)
    {
        var configured = configuration[SettingName];
        try
        {
            Path = System.IO.Path.GetFullPath(string.IsNullOrWhiteSpace(configured)
                ? System.IO.Path.Combine(environment.ContentRootPath, "data")
                : System.IO.Path.Combine(environment.ContentRootPath, configured));
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw Invalid($"Storage__DataFolder is not a valid path ({ex.Message})");
        }
    }

    public string Path { get; }

    public string File(string name)
    {
        try
        {
            Directory.CreateDirectory(Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Invalid($"Storage__DataFolder {Path} cannot be created ({ex.Message})");
        }

        return System.IO.Path.Combine(Path, name);
    }

    /// <summary>Reported at start like any other invalid setting: one line naming it.</summary>
    private static Microsoft.Extensions.Options.OptionsValidationException Invalid(string failure) =>
        new(SettingName, typeof(DataFolder), [failure]);

    /// <summary>
    /// Returns the secret kept in <paramref name="name"/>, creating it (random, readable by the owner only)
    /// the first time. Two processes starting together agree on one value: the file is created exclusively.
    /// </summary>
    public string ReadOrCreateSecret(string name, int byteLength = 32)
    {
        var path = File(name);
        for (var attempt = 0; ; attempt++)
        {
            if (System.IO.File.Exists(path))
            {
                var existing = System.IO.File.ReadAllText(path).Trim();
                if (existing.Length > 0 || attempt > 20)
                {
                    return existing;
                }

                Thread.Sleep(50); // another process is writing it right now
                continue;
            }

            var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(byteLength));
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using var stream = new FileStream(path, options);
                using var writer = new StreamWriter(stream);
                writer.Write(secret);
                return secret;
            }
            catch (IOException) when (System.IO.File.Exists(path))
            {
                // Lost the race to another process; read what it wrote.
            }
        }
    }
}
