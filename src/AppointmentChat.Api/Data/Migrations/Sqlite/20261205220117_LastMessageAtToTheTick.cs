using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppointmentChat.Api.Data.Migrations.Sqlite
{
    /// <summary>
    /// A chat's last message time is kept to the tick (.NET ticks, 100 ns since year 1) rather than as Unix milliseconds
    /// (<c>Chat.LastMessageAt</c>): the stored values are converted; the column stays an INTEGER.
    /// </summary>
    public partial class LastMessageAtToTheTick : Migration
    {
        /// <summary>The Unix epoch in .NET ticks.</summary>
        private const long UnixEpochTicks = 621_355_968_000_000_000;

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql($"""UPDATE appointments SET "LastMessageAt" = "LastMessageAt" * 10000 + {UnixEpochTicks} WHERE "LastMessageAt" IS NOT NULL;""");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql($"""UPDATE appointments SET "LastMessageAt" = ("LastMessageAt" - {UnixEpochTicks}) / 10000 WHERE "LastMessageAt" IS NOT NULL;""");
        }
    }
}
