using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppointmentChat.Api.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class UnreadMessages : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "unread_messages",
                columns: table => new
                {
                    UserId = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false, collation: "C"),
                    ChannelId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    MessageId = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false, collation: "C"),
                    SentAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_unread_messages", x => new { x.UserId, x.ChannelId, x.MessageId });
                });

            migrationBuilder.CreateIndex(
                name: "IX_unread_messages_ChannelId_MessageId",
                table: "unread_messages",
                columns: new[] { "ChannelId", "MessageId" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "unread_messages");
        }
    }
}
