using System.Text;
using static System.Net.WebUtility;

namespace AppointmentChat.Api.Transcripts;

/// <summary>
/// The transcript as one self-contained HTML page for the PMS to file: print CSS (A4, no page break inside a message),
/// so the browser or the PMS prints it to PDF — no PDF library in the service. Every value is HTML-encoded (a message is
/// text, never markup) and a link is made only of an http(s) URL.
/// </summary>
internal static class TranscriptHtml
{
    /// <summary>Served with the page: no script runs in it whatever it holds, and it loads nothing but inline style.</summary>
    public const string ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; base-uri 'none'; form-action 'none'";

    private const string Style = """
        body{font:11pt/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#111;margin:2rem auto;max-width:48rem;padding:0 1rem}
        h1{font-size:16pt;margin:0 0 .5rem}
        dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0 0 1.5rem}
        dt{font-weight:600}dd{margin:0}
        ol{list-style:none;padding:0;margin:0}
        li.message{border-top:1px solid #ccc;padding:.5rem 0;break-inside:avoid;page-break-inside:avoid}
        .meta{font-size:9pt;color:#444}.author{font-weight:600;color:#111}
        .role{border:1px solid #999;border-radius:3px;padding:0 .3em;margin:0 .4em;font-size:8pt;text-transform:uppercase}
        .text{white-space:pre-wrap;overflow-wrap:anywhere;margin:.25rem 0 0}
        .deleted{font-style:italic;color:#666}
        .role-system .text{color:#444;font-style:italic}
        ul.attachments{margin:.25rem 0 0;padding-left:1.2rem;font-size:10pt}
        a{color:#0645ad;overflow-wrap:anywhere}
        @page{size:A4;margin:18mm 15mm}
        @media print{body{margin:0;max-width:none}a{color:#111}a[href]::after{content:" (" attr(href) ")";font-size:8pt;color:#444}}
        """;

    public static string Render(TranscriptResponse transcript)
    {
        var html = new StringBuilder(4096 + transcript.Messages.Count * 256);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Chat transcript – ")
            .Append(HtmlEncode(transcript.AppointmentId)).Append("</title><style>").Append(Style).Append("</style></head><body>\n<header><h1>Chat transcript</h1><dl>");
        Field(html, "Appointment", transcript.AppointmentId);
        Field(html, "Organisation", transcript.OrganisationId);
        Field(html, "Pet", transcript.PetName);
        Field(html, "Pet owner", Person(transcript.PetOwner));
        Field(html, "Vet", Person(transcript.Vet));
        Field(html, "Chat", $"{transcript.ChannelId} ({transcript.Status})");
        Field(html, "Times in", transcript.TimeZone);
        Field(html, "Generated", transcript.GeneratedAt);
        Field(html, "Messages", transcript.Messages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        html.Append("</dl></header>\n<ol>\n");
        foreach (var message in transcript.Messages)
        {
            html.Append("<li class=\"message role-").Append(HtmlEncode(message.Role)).Append("\"><div class=\"meta\"><span class=\"author\">")
                .Append(HtmlEncode(message.Author.Name ?? message.Author.Id)).Append("</span><span class=\"role\">").Append(HtmlEncode(RoleName(message.Role)))
                .Append("</span><time datetime=\"").Append(HtmlEncode(message.SentAt)).Append("\">").Append(HtmlEncode(Readable(message.SentAt))).Append("</time></div>");
            if (message.Deleted)
            {
                html.Append("<p class=\"text deleted\">Message deleted</p>");
            }
            else if (message.Text is { Length: > 0 } text)
            {
                html.Append("<p class=\"text\">").Append(HtmlEncode(text)).Append("</p>");
            }

            if (message.Attachments.Count > 0)
            {
                html.Append("<ul class=\"attachments\">");
                foreach (var attachment in message.Attachments)
                {
                    var label = HtmlEncode(attachment.Title ?? attachment.Url ?? "attachment");
                    var kind = attachment.Type is null ? "" : $" <span class=\"kind\">({HtmlEncode(attachment.Type)})</span>";
                    html.Append("<li>").Append(IsWebLink(attachment.Url) ? $"<a href=\"{HtmlEncode(attachment.Url)}\">{label}</a>" : label).Append(kind).Append("</li>");
                }

                html.Append("</ul>");
            }

            html.Append("</li>\n");
        }

        return html.Append("</ol>\n</body></html>\n").ToString();
    }

    private static void Field(StringBuilder html, string name, string? value) =>
        html.Append("<dt>").Append(name).Append("</dt><dd>").Append(HtmlEncode(value ?? "—")).Append("</dd>");

    private static string Person(TranscriptPerson person) => person.Name is { Length: > 0 } name ? $"{name} ({person.Id})" : person.Id;

    private static string RoleName(string role) => role switch
    {
        TranscriptRoles.PetOwner => "Pet owner",
        TranscriptRoles.Vet => "Vet",
        TranscriptRoles.System => "System",
        _ => "Other",
    };

    /// <summary><c>2030-01-15 14:02:11 +01:00</c>: the stored form, easier on a reader.</summary>
    private static string Readable(string sentAt) => sentAt.Length >= 29 ? $"{sentAt[..10]} {sentAt[11..19]} {sentAt[23..]}" : sentAt;

    /// <summary>Only http(s) becomes a link: a <c>javascript:</c> or <c>data:</c> URL in an attachment is shown, never followed.</summary>
    private static bool IsWebLink(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);
}
