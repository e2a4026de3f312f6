using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Privacy;

internal static class PrivacySetup
{
    public static IHostApplicationBuilder AddPrivacy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddApiJsonContext(PrivacyJsonContext.Default);
        builder.Services.AddScoped<Erasures>();
        builder.Services.AddScoped<PrivacyExports>();
        builder.Services.AddSingleton<ErasureSignal>();
        builder.Services.AddHostedService<ErasureWorker>();
        return builder;
    }
}

/// <summary>The document's examples.</summary>
internal static class PrivacyExamples
{
    private static readonly DateTimeOffset Now = new(2030, 1, 15, 13, 5, 0, TimeSpan.Zero);

    public static readonly ErasureResponse Erasure = new(
        12, "owner-1", ErasureStatus.Completed, "pms", "service", Now, ErasureModes.Soft, ErasureModes.Keep, Now.AddSeconds(1), 0, null,
        [.. Erasures.StepNames.Select((name, i) => new ErasureStep(name, Now.AddMilliseconds(100 * (i + 1)), 1))],
        [new KeptRecord("apt-1", "clinic-1", "appointment-apt-1", ["appointment", "stream-messages"], PrivacyReasons.ClinicalRecord,
            "The appointment (without names) and what was said in its chat are the practice's clinical record, which it must keep (GDPR art. 17(3)(b)).")]);

    public static readonly ErasureResponse PendingErasure = Erasure with
    {
        Status = ErasureStatus.Pending,
        CompletedAt = null,
        Attempts = 1,
        LastError = "stream-user: Stream DeleteUser did not complete",
        Steps = [.. Erasures.StepNames.Select(name => new ErasureStep(name))],
    };

    public static readonly PrivacyExport Export = new(
        "owner-1", Now, null,
        new ExportedChatUser("Alex Owner", "Alex Owner", Now.AddDays(-3), Now.AddDays(-3), Now.AddDays(-3)),
        [new ExportedAppointment("apt-1", "clinic-1", "pet-owner", "Alex Owner", "Rex", "Dr Vet", Now.AddDays(-3), 30, "completed", "appointment-apt-1", "ended", "Thank you!", Now.AddDays(-3))],
        [new ExportedDevice("ios", "9f8e7d6c", Now.AddDays(-30), Now.AddDays(-1))],
        [new ExportedPush(7, "apt-1", "Dr Vet", "How is Rex today?", "sent", Now.AddDays(-3), Now.AddDays(-3))],
        [],
        new ExportedStream(new JsonObject { ["id"] = "owner-1", ["name"] = "Alex Owner", ["role"] = "user" },
            [new ExportedMessage("m-1", "appointment-apt-1", "Thank you!", "regular", Now.AddDays(-3), null)]),
        null);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ErasureRequest))]
[JsonSerializable(typeof(ErasureResponse))]
[JsonSerializable(typeof(PrivacyExport))]
[JsonSerializable(typeof(IReadOnlyList<ErasureStep>))]
[JsonSerializable(typeof(IReadOnlyList<KeptRecord>))]
[JsonSerializable(typeof(string))]
internal sealed partial class PrivacyJsonContext : JsonSerializerContext;
