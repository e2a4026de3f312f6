using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppointmentChat.Api.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Channels : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ChannelPetOwnerId",
                table: "appointments",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ChannelVetId",
                table: "appointments",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "ChatCreatedAt",
                table: "appointments",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "ChatFrozen",
                table: "appointments",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<string>(
                name: "ChatLeaseOwner",
                table: "appointments",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "ChatLeaseUntil",
                table: "appointments",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "ChatSyncAttempts",
                table: "appointments",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<long>(
                name: "ChatSyncDue",
                table: "appointments",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ChatSyncError",
                table: "appointments",
                type: "TEXT",
                maxLength: 500,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "LastActivityAt",
                table: "appointments",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "LastMessageAt",
                table: "appointments",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LastMessageText",
                table: "appointments",
                type: "TEXT",
                maxLength: 500,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Version",
                table: "appointments",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.CreateTable(
                name: "chat_users",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    StreamName = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    SyncedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_chat_users", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_chats_by_organisation",
                table: "appointments",
                columns: new[] { "OrganisationId", "LastActivityAt", "Id" },
                filter: "\"ChannelId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_chats_by_pet_owner",
                table: "appointments",
                columns: new[] { "PetOwnerId", "LastActivityAt", "Id" },
                filter: "\"ChannelId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_chats_by_vet",
                table: "appointments",
                columns: new[] { "VetId", "LastActivityAt", "Id" },
                filter: "\"ChannelId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_chats_sync_due",
                table: "appointments",
                column: "ChatSyncDue",
                filter: "\"ChatSyncDue\" IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "chat_users");

            migrationBuilder.DropIndex(
                name: "ix_chats_by_organisation",
                table: "appointments");

            migrationBuilder.DropIndex(
                name: "ix_chats_by_pet_owner",
                table: "appointments");

            migrationBuilder.DropIndex(
                name: "ix_chats_by_vet",
                table: "appointments");

            migrationBuilder.DropIndex(
                name: "ix_chats_sync_due",
                table: "appointments");

            migrationBuilder.DropColumn(
                name: "ChannelPetOwnerId",
                table: "appointments");

            migrationBuilder.DropColumn(
                name: "ChannelVetId",
                table: "appointments");

            migrationBuilder.DropColumn(
                name: "ChatCreatedAt",
                table: "appointments");

            migrationBuilder.DropColumn(
                name: "ChatFrozen",
                table: "appointments");

            migrationBuilder.DropColumn(
                name: "ChatLeaseOwner",
                table: "appointments");

            migrationBuilder.DropColumn(
                name: "ChatLeaseUntil",
                table: "appointments");

            migrationBuilder.DropColumn(
                name: "ChatSyncAttempts",
                table: "appointments");

            migrationBuilder.DropColumn(
                name: "ChatSyncDue",
                table: "appointments");

            migrationBuilder.DropColumn(
                name: "ChatSyncError",
                table: "appointments");

            migrationBuilder.DropColumn(
                name: "LastActivityAt",
                table: "appointments");

            migrationBuilder.DropColumn(
                name: "LastMessageAt",
                table: "appointments");

            migrationBuilder.DropColumn(
                name: "LastMessageText",
                table: "appointments");

            migrationBuilder.DropColumn(
                name: "Version",
                table: "appointments");
        }
    }
}
