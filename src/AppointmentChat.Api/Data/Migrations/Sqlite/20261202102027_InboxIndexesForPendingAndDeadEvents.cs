using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppointmentChat.Api.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class InboxIndexesForPendingAndDeadEvents : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_inbox_due",
                table: "webhook_inbox");

            migrationBuilder.CreateIndex(
                name: "ix_inbox_dead",
                table: "webhook_inbox",
                column: "Id",
                filter: "\"Status\" = 'dead'");

            migrationBuilder.CreateIndex(
                name: "ix_inbox_pending_due",
                table: "webhook_inbox",
                column: "NextAttemptAt",
                filter: "\"Status\" = 'pending'");

            migrationBuilder.CreateIndex(
                name: "ix_inbox_pending_received",
                table: "webhook_inbox",
                column: "ReceivedAt",
                filter: "\"Status\" = 'pending'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_inbox_dead",
                table: "webhook_inbox");

            migrationBuilder.DropIndex(
                name: "ix_inbox_pending_due",
                table: "webhook_inbox");

            migrationBuilder.DropIndex(
                name: "ix_inbox_pending_received",
                table: "webhook_inbox");

            migrationBuilder.CreateIndex(
                name: "ix_inbox_due",
                table: "webhook_inbox",
                columns: new[] { "Status", "NextAttemptAt" });
        }
    }
}
