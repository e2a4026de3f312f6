using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppointmentChat.Api.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class OrganisationSettings : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "organisation_settings",
                columns: table => new
                {
                    OrganisationId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    TimeZone = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true, collation: "C"),
                    ChatActivationMinutes = table.Column<int>(type: "integer", nullable: true),
                    CloseGraceMinutes = table.Column<int>(type: "integer", nullable: true),
                    SystemUserName = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true, collation: "C"),
                    EndMessage = table.Column<string>(type: "character varying(5000)", maxLength: 5000, nullable: true, collation: "C"),
                    Language = table.Column<string>(type: "character varying(8)", maxLength: 8, nullable: true, collation: "C"),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_organisation_settings", x => x.OrganisationId);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "organisation_settings");
        }
    }
}
