using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppointmentChat.Api.Data.Migrations.Sqlite
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
                    Endpoint = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    NextAt = table.Column<long>(type: "INTEGER", nullable: false)
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
