using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppointmentChat.Api.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ChatUserNamedAt : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "NamedAt",
                table: "chat_users",
                type: "timestamp with time zone",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "NamedAt",
                table: "chat_users");
        }
    }
}
