import type { TokenResponse } from '../api/types';
import { selectSession, sessionFromTokens, sessionRefreshed, signedOut, type Session, type WithAuth } from './authSlice';

type Dispatch = (action: { type: string; payload?: unknown }) => unknown;
type GetState = () => unknown;

export interface ClientConfig {
  /** Origin of the ingress ('' for the page's own origin). */
  baseUrl: string;
  fetchFn?: typeof fetch;
  now?: () => number;
  /** Refresh this long before the access token expires (ms). */
  refreshMarginMs?: number;
}

/** Refreshes the session: at most one refresh in flight, and a refresh only when the
 * access token a caller holds is still the current one. Refresh tokens rotate and reusing
 * an old one revokes the whole family, so concurrent callers must share one refresh. */
export class Refresher {
  private inflight: Promise<Session | null> | null = null;
  count = 0;

  constructor(private readonly client: Client) {}

  refresh(getState: GetState, dispatch: Dispatch, heldAccessToken?: string): Promise<Session | null> {
    const current = selectSession(getState() as WithAuth);
    if (!current) return Promise.resolve(null);
    if (heldAccessToken !== undefined && current.accessToken !== heldAccessToken && !this.inflight) {
      return Promise.resolve(current); // someone else refreshed already
    }
    if (this.inflight) return this.inflight;
    this.inflight = (async () => {
      try {
        const response = await this.client.fetch('/api/v1/auth/refresh', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify({ refresh_token: current.refreshToken }),
        });
        if (!response.ok) {
          if (response.status >= 400 && response.status < 500 && response.status !== 429) {
            dispatch(signedOut('Your session has expired; please sign in again.'));
          }
          return null;
        }
        const session = sessionFromTokens((await response.json()) as TokenResponse, this.client.now());
        this.count += 1;
        dispatch(sessionRefreshed(session));
        return session;
      } catch {
        return null; // network failure: keep the session, the caller reports the error
      } finally {
        this.inflight = null;
      }
    })();
    return this.inflight;
  }
}

/** Per-store API client settings and the session refresher (the thunk "extra" argument). */
export class Client {
  readonly baseUrl: string;
  readonly now: () => number;
  readonly refreshMarginMs: number;
  readonly refresher: Refresher;
  private readonly fetchFn: typeof fetch;

  constructor(config: ClientConfig) {
    this.baseUrl = config.baseUrl.replace(/\/$/, '');
    this.fetchFn = config.fetchFn ?? ((input, init) => globalThis.fetch(input, init));
    this.now = config.now ?? (() => Date.now());
    this.refreshMarginMs = config.refreshMarginMs ?? 30_000;
    this.refresher = new Refresher(this);
  }

  fetch(path: string, init?: RequestInit): Promise<Response> {
    return this.fetchFn(`${this.baseUrl}${path}`, init);
  }

  getFetch(): typeof fetch {
    return this.fetchFn;
  }

  /** A valid access token: refreshed first when it expires within the margin. */
  async accessToken(getState: GetState, dispatch: Dispatch): Promise<string | null> {
    let session = selectSession(getState() as WithAuth);
    if (session && session.expiresAt - this.now() < this.refreshMarginMs) {
      session = (await this.refresher.refresh(getState, dispatch, session.accessToken)) ?? selectSession(getState() as WithAuth);
    }
    return session?.accessToken ?? null;
  }

  /** The WebSocket URL for a path ('/api/v1/ws/...'), on the same origin as the API. */
  wsUrl(path: string, pageOrigin?: string): string {
    const origin = this.baseUrl || pageOrigin || '';
    return `${origin.replace(/^http/, 'ws')}${path}`;
  }
}

export interface ThunkExtra {
  client: Client;
}
