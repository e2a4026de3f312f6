using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppointmentChat.Api.Data.Migrations.Postgres
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
                type: "character varying(64)",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ChannelVetId",
                table: "appointments",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "ChatCreatedAt",
                table: "appointments",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "ChatFrozen",
                table: "appointments",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<string>(
                name: "ChatLeaseOwner",
                table: "appointments",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "ChatLeaseUntil",
                table: "appointments",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "ChatSyncAttempts",
                table: "appointments",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "ChatSyncDue",
                table: "appointments",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ChatSyncError",
                table: "appointments",
                type: "character varying(500)",
                maxLength: 500,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "LastActivityAt",
                table: "appointments",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "LastMessageAt",
                table: "appointments",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LastMessageText",
                table: "appointments",
                type: "character varying(500)",
                maxLength: 500,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Version",
                table: "appointments",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.CreateTable(
                name: "chat_users",
                columns: table => new
                {
                    Id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    StreamName = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    SyncedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
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
