import type { BlockList } from 'node:net';
import { guardedPost } from '../guardedPost.js';
import type { OAuthRefresh } from './platformAdapter.js';

/** A token is renewed this long before it expires, so no request goes out with one about to lapse. */
const EARLY_RENEWAL_MS = 60_000;

/**
 * Access tokens from OAuth refresh tokens (Google Ads, Microsoft Advertising), kept in memory until
 * shortly before they expire: one token request an hour per destination, not one per conversion.
 */
export function createOAuthTokens(deps: { timeoutMs: number; allowedNetworks: BlockList; now?: () => number }) {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { token: string; expiresAt: number }>();
  return {
    async token(r: OAuthRefresh): Promise<{ token: string } | { error: string; retry: boolean }> {
      const key = `${r.tokenUrl}\n${r.clientId}\n${r.refreshToken}`;
      const cached = cache.get(key);
      if (cached && cached.expiresAt - EARLY_RENEWAL_MS > now()) return { token: cached.token };
      const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: r.clientId, refresh_token: r.refreshToken });
      if (r.clientSecret) form.set('client_secret', r.clientSecret);
      if (r.scope) form.set('scope', r.scope);
      const res = await guardedPost({
        url: r.tokenUrl,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        timeoutMs: deps.timeoutMs,
        allowedNetworks: deps.allowedNetworks,
        // Microsoft's access tokens alone run to a few kilobytes.
        maxResponseBytes: 32 * 1024,
      });
      if (res.statusCode === null) return { error: `token service: ${res.error ?? 'no answer'}`, retry: !res.refused };
      if (res.statusCode !== 200) return { error: `token service answered ${res.statusCode}: ${res.responseExcerpt ?? ''}`.slice(0, 300), retry: res.statusCode >= 500 };
      try {
        const body = JSON.parse(res.responseExcerpt ?? '') as { access_token?: string; expires_in?: number };
        if (!body.access_token) return { error: 'token service gave no access_token', retry: false };
        cache.set(key, { token: body.access_token, expiresAt: now() + (body.expires_in ?? 3600) * 1000 });
        return { token: body.access_token };
      } catch {
        return { error: 'token service answer is not JSON', retry: true };
      }
    },
  };
}
