import { describe, expect, it } from 'vitest';
import { createAppStore } from '../store';
import { sessionRefreshed, signedIn, signedOut } from './authSlice';
import { parseStoredAuth, persistSession, type SessionStore } from './persist';

const user = { id: 'u1', name: 'ann', role: 'analyst' as const, kind: 'user' };

describe('session persistence', () => {
  it('writes sign-in and refresh, clears on sign-out, and reads back what it wrote', async () => {
    const kept: { value: string | null; writes: number } = { value: null, writes: 0 };
    const target: SessionStore = {
      read: () => kept.value,
      write: async (v) => {
        kept.value = v;
        kept.writes += 1;
      },
      clear: async () => {
        kept.value = null;
      },
    };
    const { store } = createAppStore({ baseUrl: 'http://api' });
    persistSession(store, target);
    store.dispatch(signedIn({ session: { accessToken: 'a1', refreshToken: 'r1', expiresAt: 1 }, user }));
    await Promise.resolve();
    expect(parseStoredAuth(kept.value)?.session?.accessToken).toBe('a1');
    store.dispatch(sessionRefreshed({ accessToken: 'a2', refreshToken: 'r2', expiresAt: 2 }));
    expect(parseStoredAuth(kept.value)?.session?.refreshToken).toBe('r2');
    expect(parseStoredAuth(kept.value)?.user?.role).toBe('analyst');
    store.dispatch({ type: 'unrelated' });
    expect(kept.writes).toBe(2);
    store.dispatch(signedOut('bye'));
    await Promise.resolve();
    expect(kept.value).toBeNull();
  });

  it('ignores unreadable or partial stored sessions', () => {
    expect(parseStoredAuth(null)).toBeUndefined();
    expect(parseStoredAuth('{not json')).toBeUndefined();
    expect(parseStoredAuth(JSON.stringify({ session: null, user }))).toBeUndefined();
    expect(parseStoredAuth(JSON.stringify({ session: { accessToken: 'a' }, user, notice: 'x' }))?.notice).toBeNull();
  });

  it('keeps the session in memory when the store fails', () => {
    const { store } = createAppStore({ baseUrl: 'http://api' });
    persistSession(store, { read: () => null, write: () => Promise.reject(new Error('keychain locked')), clear: () => { throw new Error('no'); } });
    store.dispatch(signedIn({ session: { accessToken: 'a1', refreshToken: 'r1', expiresAt: 1 }, user }));
    store.dispatch(signedOut());
    expect(store.getState().auth.session).toBeNull();
  });
});
