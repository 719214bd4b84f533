/**
 * Who may see what, exactly as dnsdist 1.7.3 decides it:
 *
 * | path | accepted credentials |
 * |---|---|
 * | `/metrics`, `/jsonstat` | the API key or the password; nothing when `statsRequireAuthentication=false` |
 * | `/api/v1/servers/localhost` | the API key or the password |
 * | any other `/api/…` path | the API key only |
 * | everything else (dashboard, custom handlers) | the password |
 *
 * The password comes as HTTP basic auth with any user name; the API key in
 * an `X-API-Key` header. Without a configured password, any basic-auth
 * header with a non-empty user and password passes (dnsdist's behaviour;
 * it warns at start-up). A basic-auth value splits on ':' dropping empty
 * parts, so an empty user, an empty password or a ':' inside the password
 * never authenticate.
 */
import type { CredentialsHolder } from './credentials.js';

/** What a path asks for. */
export type AuthClass = 'stats' | 'api-or-password' | 'api' | 'password';

export function authClassOf(path: string): AuthClass {
  if (path === '/jsonstat' || path === '/metrics') return 'stats';
  if (path === '/api/v1/servers/localhost') return 'api-or-password';
  if (path.startsWith('/api/')) return 'api';
  return 'password';
}

/** The settings authorization reads. */
export interface AuthSettings {
  readonly password: CredentialsHolder | undefined;
  readonly apiKey: CredentialsHolder | undefined;
  readonly statsRequireAuthentication: boolean;
}

/** The password part of a basic-auth header value, when the header is usable. */
export function basicAuthPassword(authorization: string | undefined): string | undefined {
  if (authorization === undefined || !authorization.toLowerCase().startsWith('basic ')) return undefined;
  const plain = Buffer.from(authorization.slice(6).trim(), 'base64').toString('latin1');
  const parts = plain.split(':').filter((p) => p !== '');
  return parts.length === 2 ? parts[1] : undefined;
}

async function apiKeyOk(headers: Readonly<Record<string, string>>, apiKey: CredentialsHolder | undefined): Promise<boolean> {
  const given = headers['x-api-key'];
  return apiKey !== undefined && given !== undefined && (await apiKey.matches(given));
}

async function passwordOk(headers: Readonly<Record<string, string>>, password: CredentialsHolder | undefined): Promise<boolean> {
  const given = basicAuthPassword(headers['authorization']);
  if (given === undefined) return false;
  return password ? password.matches(given) : true;
}

/** Does this request carry what its path asks for? */
export async function isAuthorized(path: string, headers: Readonly<Record<string, string>>, settings: AuthSettings): Promise<boolean> {
  switch (authClassOf(path)) {
    case 'stats':
      if (!settings.statsRequireAuthentication) return true;
      return (await apiKeyOk(headers, settings.apiKey)) || passwordOk(headers, settings.password);
    case 'api-or-password':
      return (await apiKeyOk(headers, settings.apiKey)) || passwordOk(headers, settings.password);
    case 'api':
      return apiKeyOk(headers, settings.apiKey);
    case 'password':
      return passwordOk(headers, settings.password);
  }
}
