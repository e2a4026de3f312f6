// A local stand-in for Google: the OAuth2 token endpoint, which checks the service account's signed
// assertion, and FCM HTTP v1 messages:send, which records every notification it accepts.
import { createServer } from 'node:http';
import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const projectId = 'e2e-project';
const clientEmail = 'push@e2e-project.iam.gserviceaccount.com';

export async function startFakeFcm() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const delivered = [];
  let tokensIssued = 0;

  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const answer = (status, json) => {
        response.writeHead(status, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify(json));
      };
      if (request.method === 'POST' && request.url === '/token') {
        const form = new URLSearchParams(body);
        if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || !signedByServiceAccount(form.get('assertion') ?? '')) {
          return answer(400, { error: 'invalid_grant' });
        }
        tokensIssued += 1;
        return answer(200, { access_token: `fake-access-${tokensIssued}`, expires_in: 3600, token_type: 'Bearer' });
      }
      if (request.method === 'POST' && request.url === `/v1/projects/${projectId}/messages:send`) {
        if (!request.headers.authorization?.startsWith('Bearer fake-access-')) {
          return answer(401, { error: { code: 401, status: 'UNAUTHENTICATED' } });
        }
        const notification = JSON.parse(body);
        delivered.push(notification.message);
        return answer(200, { name: `projects/${projectId}/messages/${delivered.length}` });
      }
      return answer(404, { error: { code: 404, status: 'NOT_FOUND' } });
    });
  });

  function signedByServiceAccount(assertion) {
    const [header, payload, signature] = assertion.split('.');
    if (!signature) {
      return false;
    }
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    return verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'))
      && claims.iss === clientEmail
      && String(claims.scope).includes('firebase.messaging');
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${server.address().port}`;
  const serviceAccountFile = path.join(mkdtempSync(path.join(tmpdir(), 'fake-fcm-')), 'service-account.json');
  writeFileSync(serviceAccountFile, JSON.stringify({
    type: 'service_account',
    project_id: projectId,
    private_key_id: 'e2e-key-1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: clientEmail,
    client_id: '1234567890',
    token_uri: `${baseUrl}/token`,
  }));

  return {
    projectId,
    baseUrl,
    serviceAccountFile,
    /** Every notification FCM accepted for a device token, optionally only those about one message. */
    deliveredTo: (deviceToken, messageId) => delivered.filter((m) => m.token === deviceToken && (messageId === undefined || m.data?.messageId === messageId)),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
