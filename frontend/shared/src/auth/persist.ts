import type { AuthState, Session } from './authSlice';
import { selectSession, type WithAuth } from './authSlice';

/** Where an app keeps the signed-in session: the web app a tab's sessionStorage, the mobile
 * app the platform keychain/keystore (expo-secure-store). Either may answer asynchronously. */
export interface SessionStore {
  read(): string | null | Promise<string | null>;
  write(value: string): void | Promise<void>;
  clear(): void | Promise<void>;
}

/** The auth state kept in `raw` (a stored session), or undefined when it is absent or unreadable. */
export function parseStoredAuth(raw: string | null | undefined): AuthState | undefined {
  if (!raw) return undefined;
  try {
    const auth = JSON.parse(raw) as AuthState;
    return auth && auth.session && auth.user ? { ...auth, notice: null } : undefined;
  } catch {
    return undefined;
  }
}

interface Subscribable {
  getState(): unknown;
  subscribe(listener: () => void): () => void;
}

/** Keep the store's session in `target` whenever it changes (sign-in, refresh, sign-out).
 * Storage failures leave the session in memory only. Returns the unsubscribe function. */
export function persistSession(store: Subscribable, target: SessionStore): () => void {
  let last: Session | null = selectSession(store.getState() as WithAuth);
  const swallow = (r: void | Promise<void>) => {
    if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch(() => undefined);
  };
  return store.subscribe(() => {
    const state = store.getState() as WithAuth;
    const session = selectSession(state);
    if (session === last) return;
    last = session;
    try {
      if (session) swallow(target.write(JSON.stringify({ session, user: state.auth.user, notice: null })));
      else swallow(target.clear());
    } catch {
      // storage full or disabled: the session lives in memory only
    }
  });
}
