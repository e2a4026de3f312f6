using System.Globalization;
using System.Text.Json;
using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Tests.Configuration;

public sealed class ApiJsonTests
{
    public static TheoryData<string> Instants() =>
    [
        "2030-01-15T14:00:00+01:00",
        "2030-01-15T13:00:00.1239999Z",
        "2030-01-15T23:59:59.9999999-05:30",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.9999999Z",
        "2024-02-29T00:00:00.0010000+14:00",
    ];

    [Theory]
    [MemberData(nameof(Instants))]
    public void AnInstantIsWrittenInUtcWithItsMillisecondsTruncatedAsJavaScriptWritesIt(string instant)
    {
        var value = DateTimeOffset.Parse(instant, CultureInfo.InvariantCulture);
        var options = new JsonSerializerOptions();
        ApiJson.Configure(options);

        var written = JsonSerializer.Serialize(value, options);

        // The definition: toISOString()'s shape, milliseconds truncated as "fff" truncates.
        Assert.Equal($"\"{value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)}\"", written);
        Assert.Equal(value.ToUnixTimeMilliseconds(), JsonSerializer.Deserialize<DateTimeOffset>(written, options).ToUnixTimeMilliseconds());
    }
}
