using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppointmentChat.Api.Data.Migrations.Sqlite
{
    /// <summary>
    /// A chat's last message time and its channel's <c>updated_at</c> are kept to the tick (.NET ticks, 100 ns since year 1)
    /// rather than as Unix milliseconds (<c>[KeptToTheTick]</c> on <c>Chat</c>): the stored values are converted; the
    /// columns stay INTEGERs.
    /// </summary>
    public partial class StreamTimesToTheTick : Migration
    {
        /// <summary>The Unix epoch in .NET ticks.</summary>
        private const long UnixEpochTicks = 621_355_968_000_000_000;

        private static readonly string[] Columns = ["LastMessageAt", "ChannelUpdatedAt"];

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            foreach (var column in Columns)
            {
                migrationBuilder.Sql($"""UPDATE appointments SET "{column}" = "{column}" * 10000 + {UnixEpochTicks} WHERE "{column}" IS NOT NULL;""");
            }
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            foreach (var column in Columns)
            {
                migrationBuilder.Sql($"""UPDATE appointments SET "{column}" = ("{column}" - {UnixEpochTicks}) / 10000 WHERE "{column}" IS NOT NULL;""");
            }
        }
    }
}
