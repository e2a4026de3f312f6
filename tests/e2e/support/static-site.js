// A web app's own origin for cross-origin tests: a tiny static server on loopback serving the given files
// (path → [content type, body]). Its origin is http://127.0.0.1:<port>; http://localhost:<port> is another origin
// serving the same files.
import { createServer } from 'node:http';

export async function startStaticSite(files) {
  const server = createServer((request, response) => {
    const file = files[new URL(request.url, 'http://site').pathname];
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    const [contentType, body] = file;
    response.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    otherOrigin: `http://localhost:${port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
