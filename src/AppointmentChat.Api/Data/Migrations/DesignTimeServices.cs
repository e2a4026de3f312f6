using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations.Design;

namespace AppointmentChat.Api.Data.Migrations;

/// <summary>What <c>dotnet ef</c> uses while it writes migrations (found in this assembly by the tools; never at run time).</summary>
public sealed class DesignTimeServices : IDesignTimeServices
{
    public void ConfigureDesignTimeServices(IServiceCollection serviceCollection) =>
        serviceCollection.AddSingleton<ICSharpSnapshotGenerator, RequiredDependentSnapshotGenerator>();
}

/// <summary>
/// Writes the model snapshot as EF Core does, and also says which table-sharing dependents are required when the
/// principal has no navigation to say it with. The chat shares the appointment's row and is required (every appointment
/// row has its chat's columns), but the appointment has no navigation to it — that would point up, into a feature —
/// and without this line a snapshot read back would make the chat's NOT NULL columns nullable, so every later migration
/// would alter them.
/// </summary>
internal sealed class RequiredDependentSnapshotGenerator(CSharpSnapshotGeneratorDependencies dependencies) : CSharpSnapshotGenerator(dependencies)
{
    protected override void GenerateForeignKey(string entityTypeBuilderName, IForeignKey foreignKey, IndentedStringBuilder stringBuilder)
    {
        base.GenerateForeignKey(entityTypeBuilderName, foreignKey, stringBuilder);
        if (foreignKey is { IsUnique: true, IsRequiredDependent: true, PrincipalToDependent: null })
        {
            stringBuilder
                .AppendLine()
                .Append(entityTypeBuilderName)
                .Append(".Metadata.GetForeignKeys().Single(fk => fk.PrincipalEntityType.Name == ")
                .Append(Dependencies.CSharpHelper.Literal(foreignKey.PrincipalEntityType.Name))
                .AppendLine(").IsRequiredDependent = true;");
        }
    }
}
