using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppointmentChat.Api.Data.Migrations.Sqlite
{
    /// <summary>
    /// Stream's times that are compared among themselves — a chat's last message time, its channel's <c>updated_at</c>,
    /// an unread message's sending time and a member's oldest unread — are kept to the tick (.NET ticks, 100 ns since
    /// year 1) rather than as Unix milliseconds (<c>[KeptToTheTick]</c>): the stored values are converted; the columns
    /// stay INTEGERs.
    /// </summary>
    public partial class StreamTimesToTheTick : Migration
    {
        /// <summary>The Unix epoch in .NET ticks.</summary>
        private const long UnixEpochTicks = 621_355_968_000_000_000;

        private static readonly (string Table, string Column)[] Columns =
        [
            ("appointments", "LastMessageAt"), ("appointments", "ChannelUpdatedAt"), ("unread_messages", "SentAt"), ("unread_counts", "Since"),
        ];

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            foreach (var (table, column) in Columns)
            {
                migrationBuilder.Sql($"""UPDATE {table} SET "{column}" = "{column}" * 10000 + {UnixEpochTicks} WHERE "{column}" IS NOT NULL;""");
            }
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            foreach (var (table, column) in Columns)
            {
                migrationBuilder.Sql($"""UPDATE {table} SET "{column}" = ("{column}" - {UnixEpochTicks}) / 10000 WHERE "{column}" IS NOT NULL;""");
            }
        }
    }
}
