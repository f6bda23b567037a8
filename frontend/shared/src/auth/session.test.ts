import { describe, expect, it } from 'vitest';
import { armillaryApi } from '../api/api';
import { createAppStore } from '../store';
import { selectSession, selectUser, signedIn, type Session } from './authSlice';
import { login, logout } from './thunks';

type Call = { url: string; method: string; body: string | null; auth: string | null };

/** A fake ingress: tokens t<N>/r<N>; `valid` is the access token it accepts. */
function fakeServer(opts: { expiresIn?: number } = {}) {
  const calls: Call[] = [];
  let n = 1;
  const state = { valid: 'a1', refresh: 'r1', refreshes: 0, revoked: false };
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(req.url);
    const body = req.method === 'GET' ? null : await req.clone().text();
    const auth = req.headers.get('Authorization');
    calls.push({ url: url.pathname, method: req.method, body, auth });
    await new Promise((r) => setTimeout(r, 5));
    if (url.pathname === '/api/v1/auth/token') {
      const form = new URLSearchParams(body ?? '');
      if (form.get('password') !== 'pw') return json(401, { detail: 'invalid username or password', request_id: 'q' });
      return json(200, { access_token: 'a1', refresh_token: 'r1', token_type: 'bearer', expires_in: opts.expiresIn ?? 900 });
    }
    if (url.pathname === '/api/v1/auth/refresh') {
      const token = JSON.parse(body ?? '{}').refresh_token;
      if (token !== state.refresh || state.revoked) {
        state.revoked = true; // reuse of a rotated token revokes the family
        return json(401, { detail: 'refresh token reused', request_id: 'q' });
      }
      state.refreshes += 1;
      n += 1;
      state.valid = `a${n}`;
      state.refresh = `r${n}`;
      return json(200, { access_token: state.valid, refresh_token: state.refresh, token_type: 'bearer', expires_in: 900 });
    }
    if (url.pathname === '/api/v1/auth/logout') return new Response(null, { status: 204 });
    if (url.pathname === '/ready') return json(503, { status: 'degraded', stores: { cache: 'timeout' }, down: ['cache'] });
    if (auth !== `Bearer ${state.valid}`) return json(401, { detail: 'token expired', request_id: 'q' });
    if (url.pathname === '/api/v1/auth/me') return json(200, { id: 'u1', name: 'ann', role: 'admin', kind: 'user' });
    if (url.pathname === '/api/v1/users') return json(200, []);
    if (url.pathname === '/api/v1/apikeys') return json(200, []);
    return json(404, { detail: 'Not Found', request_id: 'q' });
  }) as typeof fetch;
  return { calls, state, fetchFn };
}

const session = (access: string, refresh: string, expiresAt: number): Session => ({ accessToken: access, refreshToken: refresh, expiresAt });

describe('login and logout', () => {
  it('logs in with the password form and loads who-am-I', async () => {
    const server = fakeServer();
    const { store } = createAppStore({ baseUrl: 'http://api', fetchFn: server.fetchFn });
    const result = await store.dispatch(login({ username: 'ann', password: 'pw' }));
    expect(login.fulfilled.match(result)).toBe(true);
    expect(selectUser(store.getState())?.role).toBe('admin');
    const token = server.calls[0];
    expect(token.method).toBe('POST');
    expect(new URLSearchParams(token.body ?? '').get('username')).toBe('ann');

    await store.dispatch(logout());
    expect(selectSession(store.getState())).toBeNull();
    const out = server.calls.at(-1)!;
    expect(out.url).toBe('/api/v1/auth/logout');
    expect(JSON.parse(out.body ?? '{}')).toEqual({ refresh_token: 'r1' });
    expect(out.auth).toBe('Bearer a1');
  });

  it('rejects a wrong password with a readable message', async () => {
    const server = fakeServer();
    const { store } = createAppStore({ baseUrl: 'http://api', fetchFn: server.fetchFn });
    const result = await store.dispatch(login({ username: 'ann', password: 'nope' }));
    expect(result.payload).toBe('Wrong username or password');
    expect(selectSession(store.getState())).toBeNull();
  });
});

describe('silent refresh', () => {
  it('refreshes once for concurrent 401s and retries each request with the new token', async () => {
    const server = fakeServer();
    const { store } = createAppStore({ baseUrl: 'http://api', fetchFn: server.fetchFn });
    store.dispatch(signedIn({ session: session('a1', 'r1', Date.now() + 600_000), user: { id: 'u1', name: 'ann', role: 'admin', kind: 'user' } }));
    server.state.valid = 'expired'; // a1 no longer accepted; a refresh yields a2
    const results = await Promise.all([
      store.dispatch(armillaryApi.endpoints.users.initiate()),
      store.dispatch(armillaryApi.endpoints.apiKeys.initiate()),
      store.dispatch(armillaryApi.endpoints.me.initiate()),
    ]);
    expect(server.state.refreshes).toBe(1);
    expect(server.state.revoked).toBe(false);
    for (const r of results) expect(r.error).toBeUndefined();
    expect(selectSession(store.getState())?.accessToken).toBe('a2');
    expect(selectSession(store.getState())?.refreshToken).toBe('r2');
  });

  it('refreshes before the token expires, exactly once', async () => {
    const server = fakeServer();
    let now = 1_000_000;
    const { store } = createAppStore({ baseUrl: 'http://api', fetchFn: server.fetchFn, now: () => now });
    store.dispatch(signedIn({ session: session('a1', 'r1', now + 10_000), user: { id: 'u1', name: 'ann', role: 'admin', kind: 'user' } }));
    server.state.valid = 'a2';
    now += 1_000; // 9 s left: within the 30 s margin
    await Promise.all([
      store.dispatch(armillaryApi.endpoints.users.initiate()),
      store.dispatch(armillaryApi.endpoints.apiKeys.initiate()),
    ]);
    expect(server.state.refreshes).toBe(1);
    const authed = server.calls.filter((c) => c.url === '/api/v1/users' || c.url === '/api/v1/apikeys');
    expect(authed.map((c) => c.auth)).toEqual(['Bearer a2', 'Bearer a2']);
  });

  it('signs out with a notice when the refresh token is refused', async () => {
    const server = fakeServer();
    const { store } = createAppStore({ baseUrl: 'http://api', fetchFn: server.fetchFn });
    store.dispatch(signedIn({ session: session('a1', 'r-old', Date.now() + 600_000), user: { id: 'u1', name: 'ann', role: 'admin', kind: 'user' } }));
    server.state.valid = 'expired';
    const r = await store.dispatch(armillaryApi.endpoints.users.initiate());
    expect(r.error).toBeDefined();
    expect(selectSession(store.getState())).toBeNull();
    expect(store.getState().auth.notice).toMatch(/session has expired/);
  });

  it('reads /ready even when it answers 503', async () => {
    const server = fakeServer();
    const { store } = createAppStore({ baseUrl: 'http://api', fetchFn: server.fetchFn });
    const r = await store.dispatch(armillaryApi.endpoints.ready.initiate());
    expect(r.data?.down).toEqual(['cache']);
  });
});
