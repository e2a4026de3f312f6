using System.Net.Http.Json;
using System.Text;

namespace AppointmentChat.Api.Tests.Infrastructure;

public static class TestHttp
{
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string url, object body) =>
        client.PostAsJsonAsync(url, body);

    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string url, string body, string contentType = "application/json") =>
        client.PostAsync(url, new StringContent(body, Encoding.UTF8, contentType));

    public static Task<HttpResponseMessage> PutRawAsync(this HttpClient client, string url, string body, string contentType = "application/json") =>
        client.PutAsync(url, new StringContent(body, Encoding.UTF8, contentType));
}
