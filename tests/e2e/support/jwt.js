// Callers' bearer JWTs (HS256 with the service's JWT_SECRET), built by hand like an identity provider would.
import { createHmac } from 'node:crypto';

const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function bearerToken(secret, { userId, roles = [], organisationId, lifetimeSeconds = 3600 }) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: userId, iat: now, nbf: now, exp: now + lifetimeSeconds };
  if (roles.length > 0) {
    claims.role = roles.length === 1 ? roles[0] : roles;
  }
  if (organisationId) {
    claims.org = organisationId;
  }
  const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
