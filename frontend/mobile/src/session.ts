import { createAppStore, parseStoredAuth, persistSession, type AuthState, type SessionStore } from '@armillary/shared';
import type { SecureStorage } from './deps';

export const SESSION_KEY = 'armillary.session';
export const SERVER_KEY = 'armillary.server';

/** The session kept in the device's secure storage. */
export function secureSessionStore(storage: SecureStorage): SessionStore {
  return {
    read: () => storage.get(SESSION_KEY),
    write: (value) => storage.set(SESSION_KEY, value),
    clear: () => storage.remove(SESSION_KEY),
  };
}

export interface Boot {
  server: string;
  auth: AuthState | undefined;
}

/** What was kept from the last run: the server and, if any, the signed-in session. */
export async function loadBoot(storage: SecureStorage, defaultServer: string): Promise<Boot> {
  const [server, raw] = await Promise.all([
    storage.get(SERVER_KEY).catch(() => null),
    storage.get(SESSION_KEY).catch(() => null),
  ]);
  return { server: server ?? defaultServer, auth: parseStoredAuth(raw) };
}

/** A store for `server`, its session persisted to secure storage. */
export function makeMobileStore(server: string, storage: SecureStorage, auth?: AuthState, fetchFn?: typeof fetch) {
  const { store, client } = createAppStore({ baseUrl: server, fetchFn }, { auth });
  const unsubscribe = persistSession(store, secureSessionStore(storage));
  return { store, client, server, unsubscribe };
}

export type MobileStore = ReturnType<typeof makeMobileStore>;
