import type { Me, Role, SocketFactory, SocketLike } from '@armillary/shared';
import { render, screen } from '@testing-library/react-native';
import { App } from '../App';
import type { AppDeps, Connectivity, ImageSource, PickedImage, SecureStorage } from '../deps';
import { SESSION_KEY } from '../session';

export type Json = unknown;
export interface Req {
  method: string;
  path: string;
  query: URLSearchParams;
  auth: string | null;
  text: string | null;
  form: { get(name: string): unknown } | null;
}
export type Route = Json | ((req: Req) => { status: number; body?: Json } | Json);
export interface Reply {
  status: number;
  body?: Json;
}

/** An in-process ingress: `routes` maps 'GET /api/v1/...' to a JSON body or a handler;
 * it checks the bearer token and implements the token/refresh/me endpoints. */
export function fakeIngress(role: Role, routes: Record<string, Route> = {}) {
  const calls: Req[] = [];
  const state = { access: 'a1', refresh: 'r1', n: 1, refreshes: 0 };
  const user: Me = { id: 'u1', name: 'ann', role, kind: 'user' };
  const json = (status: number, body?: Json) =>
    new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(req.url);
    const type = req.headers.get('Content-Type') ?? '';
    const form = type.startsWith('multipart/form-data') ? ((await req.formData()) as unknown as Req['form']) : null;
    const text = form || req.method === 'GET' ? null : await req.text();
    const r: Req = { method: req.method, path: url.pathname, query: url.searchParams, auth: req.headers.get('Authorization'), text, form };
    calls.push(r);
    if (r.path === '/api/v1/auth/token') {
      const f = new URLSearchParams(text ?? '');
      if (f.get('password') !== 'pw') return json(401, { detail: 'invalid username or password' });
      return json(200, { access_token: state.access, refresh_token: state.refresh, token_type: 'bearer', expires_in: 900 });
    }
    if (r.path === '/api/v1/auth/refresh') {
      if (JSON.parse(text ?? '{}').refresh_token !== state.refresh) return json(401, { detail: 'refresh token reused' });
      state.n += 1;
      state.refreshes += 1;
      state.access = `a${state.n}`;
      state.refresh = `r${state.n}`;
      return json(200, { access_token: state.access, refresh_token: state.refresh, token_type: 'bearer', expires_in: 900 });
    }
    if (r.path === '/api/v1/auth/logout') return json(204);
    if (r.auth !== `Bearer ${state.access}`) return json(401, { detail: 'token expired' });
    if (r.path === '/api/v1/auth/me') return json(200, user);
    const route = routes[`${r.method} ${r.path}`];
    if (route === undefined) return json(404, { detail: 'Not Found', request_id: 'rq1' });
    const out = typeof route === 'function' ? (route as (q: Req) => Reply | Json)(r) : route;
    if (out && typeof out === 'object' && 'status' in out && typeof (out as Reply).status === 'number') {
      return json((out as Reply).status, (out as Reply).body);
    }
    return json(200, out);
  }) as typeof fetch;
  return { fetchFn, calls, state, user };
}

/** WebSockets the test drives: open them, push server messages, close them. */
export class FakeSockets {
  sockets: (SocketLike & { url: string; closed: number | null; open(): void; push(m: Json): void; drop(code: number): void })[] = [];
  factory: SocketFactory = (url) => {
    const s = {
      url,
      closed: null as number | null,
      onopen: null as SocketLike['onopen'],
      onmessage: null as SocketLike['onmessage'],
      onclose: null as SocketLike['onclose'],
      onerror: null as SocketLike['onerror'],
      close(code?: number) {
        s.closed = code ?? 1000;
      },
      open() {
        s.onopen?.({});
      },
      push(m: Json) {
        s.onmessage?.({ data: JSON.stringify(m) });
      },
      drop(code: number) {
        s.onclose?.({ code, reason: '' });
      },
    };
    this.sockets.push(s);
    return s;
  };
  get last() {
    return this.sockets[this.sockets.length - 1];
  }
}

export function memoryStorage(initial: Record<string, string> = {}): SecureStorage & { data: Record<string, string> } {
  const data = { ...initial };
  return {
    data,
    get: async (k) => data[k] ?? null,
    set: async (k, v) => {
      data[k] = v;
    },
    remove: async (k) => {
      delete data[k];
    },
  };
}

export function switchableNetwork(): Connectivity & { set(online: boolean): void } {
  let listeners: ((o: boolean) => void)[] = [];
  return {
    subscribe(l) {
      listeners.push(l);
      l(true);
      return () => {
        listeners = listeners.filter((x) => x !== l);
      };
    },
    set(online) {
      listeners.forEach((l) => l(online));
    },
  };
}

export function fixedImages(image: PickedImage | null, error?: string): ImageSource {
  return {
    take: async () => {
      if (error) throw new Error(error);
      return image;
    },
    choose: async () => image,
  };
}

export const RECEIPT: PickedImage = { uri: 'file:///receipt.png', name: 'receipt.png', type: 'image/png', file: new Blob(['png bytes'], { type: 'image/png' }) };

export interface Setup {
  role?: Role;
  routes?: Record<string, Route>;
  signedIn?: boolean;
  images?: ImageSource;
  scheme?: 'light' | 'dark';
  expiresAt?: number;
}

/** Render the whole app against the fake ingress, signed in as `role` (session in storage). */
export async function renderApp(setup: Setup = {}) {
  const role = setup.role ?? 'admin';
  const api = fakeIngress(role, setup.routes);
  const sockets = new FakeSockets();
  const network = switchableNetwork();
  const stored: Record<string, string> =
    setup.signedIn === false
      ? {}
      : { [SESSION_KEY]: JSON.stringify({ session: { accessToken: 'a1', refreshToken: 'r1', expiresAt: setup.expiresAt ?? Date.now() + 600_000 }, user: api.user, notice: null }) };
  const storage = memoryStorage(stored);
  const deps: AppDeps = {
    storage,
    connectivity: network,
    images: setup.images ?? fixedImages(RECEIPT),
    defaultServer: 'http://suite.test',
    fetchFn: api.fetchFn,
    socketFactory: sockets.factory,
  };
  await render(<App deps={deps} scheme={setup.scheme} />);
  if (setup.signedIn !== false) await screen.findByTestId('whoami');
  else await screen.findByTestId('login-screen');
  return { api, sockets, network, storage };
}

export function prediction(as_of: string, close: number, extra: Record<string, unknown> = {}) {
  return {
    symbol: 'BTC/USDT', interval: '1h', horizon: 1, as_of, target_time: as_of, last_close: close,
    predicted_return: 0.001, predicted_close: close * 1.001, prob_up: 0.55, direction: 'up', model_version: '3',
    skill: 'no demonstrated skill over the naive forecast', ...extra,
  };
}
