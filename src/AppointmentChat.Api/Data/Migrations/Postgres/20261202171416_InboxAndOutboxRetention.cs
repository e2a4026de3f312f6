using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppointmentChat.Api.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class InboxAndOutboxRetention : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "ix_inbox_processed",
                table: "webhook_inbox",
                column: "ProcessedAt",
                filter: "\"ProcessedAt\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_outbox_created",
                table: "notification_outbox",
                column: "CreatedAt");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_inbox_processed",
                table: "webhook_inbox");

            migrationBuilder.DropIndex(
                name: "ix_outbox_created",
                table: "notification_outbox");
        }
    }
}
