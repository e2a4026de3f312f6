using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppointmentChat.Api.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class StreamPaces : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "stream_paces",
                columns: table => new
                {
                    Endpoint = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    NextAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_stream_paces", x => x.Endpoint);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "stream_paces");
        }
    }
}
