import { createAppStore, selectSession, type AuthState, type RootState } from '@armillary/shared';
import { useDispatch, useSelector } from 'react-redux';

const KEY = 'armillary.auth';

/** The session survives a reload of the tab (sessionStorage: gone with the tab). */
export function loadAuth(storage: Storage | undefined = globalThis.sessionStorage): AuthState | undefined {
  try {
    const raw = storage?.getItem(KEY);
    if (!raw) return undefined;
    const auth = JSON.parse(raw) as AuthState;
    return auth.session && auth.user ? { ...auth, notice: null } : undefined;
  } catch {
    return undefined;
  }
}

export function makeStore(baseUrl = '', storage: Storage | undefined = globalThis.sessionStorage) {
  const { store, client } = createAppStore({ baseUrl }, { auth: loadAuth(storage) });
  let last = selectSession(store.getState());
  store.subscribe(() => {
    const state = store.getState();
    const session = selectSession(state);
    if (session === last) return;
    last = session;
    try {
      if (session) storage?.setItem(KEY, JSON.stringify({ session, user: state.auth.user, notice: null }));
      else storage?.removeItem(KEY);
    } catch {
      // storage full or disabled: the session lives in memory only
    }
  });
  return { store, client };
}

export type WebStore = ReturnType<typeof makeStore>['store'];
export type WebDispatch = WebStore['dispatch'];
export const useAppDispatch = useDispatch.withTypes<WebDispatch>();
export const useAppSelector = useSelector.withTypes<RootState>();
