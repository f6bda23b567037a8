import { createAppStore, parseStoredAuth, persistSession, type AuthState, type SessionStore } from '@armillary/shared';

const KEY = 'armillary.auth';

/** The tab's sessionStorage as the session store (gone with the tab). */
function tabStore(storage: Storage | undefined): SessionStore {
  return {
    read: () => storage?.getItem(KEY) ?? null,
    write: (value) => storage?.setItem(KEY, value),
    clear: () => storage?.removeItem(KEY),
  };
}

/** The session survives a reload of the tab. */
export function loadAuth(storage: Storage | undefined = globalThis.sessionStorage): AuthState | undefined {
  try {
    return parseStoredAuth(storage?.getItem(KEY));
  } catch {
    return undefined;
  }
}

export function makeStore(baseUrl = '', storage: Storage | undefined = globalThis.sessionStorage) {
  const { store, client } = createAppStore({ baseUrl }, { auth: loadAuth(storage) });
  persistSession(store, tabStore(storage));
  return { store, client };
}

export type WebStore = ReturnType<typeof makeStore>['store'];
export type WebDispatch = WebStore['dispatch'];
export { useAppDispatch, useAppSelector } from '@armillary/shared';
