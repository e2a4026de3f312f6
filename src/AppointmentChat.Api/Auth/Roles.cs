namespace AppointmentChat.Api.Auth;

/// <summary>The values of the caller's role claim the service understands; others are ignored.</summary>
internal static class Roles
{
    public const string PetOwner = "pet-owner";
    public const string Vet = "vet";
    public const string Admin = "admin";

    /// <summary>A trusted back end (the PMS) acting for the practice.</summary>
    public const string Service = "service";

    /// <summary>A person on call for the service: lists its stuck work, retries or discards it (nothing else).</summary>
    public const string Operator = "operator";

    public static readonly string[] All = [PetOwner, Vet, Admin, Service, Operator];
}
