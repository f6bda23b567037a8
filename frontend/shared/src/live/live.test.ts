import { describe, expect, it } from 'vitest';
import { liveSlice, messageReceived, predictionLoaded, socketStatus, type LiveState } from './liveSlice';
import { ReconnectingSocket, closeAction, type SocketLike } from './socket';

const reduce = (state: LiveState, ...actions: Parameters<typeof liveSlice.reducer>[1][]) => actions.reduce(liveSlice.reducer, state);
const empty: LiveState = { feeds: {} };

const pred = (as_of: string, close: number, extra: Record<string, unknown> = {}) => ({
  type: 'prediction' as const,
  symbol: 'BTC/USDT', interval: '1h', horizon: 1, as_of, target_time: as_of, last_close: close,
  predicted_return: 0.001, predicted_close: close * 1.001, prob_up: 0.55, direction: 'up', model_version: '3', ...extra,
});

describe('live slice', () => {
  it('keeps predictions and prices in time order without duplicates', () => {
    const s = reduce(
      empty,
      messageReceived({ symbol: 'BTC-USDT', message: { type: 'subscribed', symbol: 'BTC/USDT', interval: '1h', horizons: [1] } }),
      messageReceived({ symbol: 'BTC-USDT', message: pred('2024-01-01T02:00:00', 102) }),
      messageReceived({ symbol: 'BTC-USDT', message: pred('2024-01-01T01:00:00', 101) }),
      messageReceived({ symbol: 'BTC-USDT', message: pred('2024-01-01T02:00:00', 103) }),
      messageReceived({ symbol: 'BTC-USDT', message: { type: 'ping' } }),
    );
    const feed = s.feeds['BTC-USDT'];
    expect(feed.interval).toBe('1h');
    expect(feed.predictions.map((p) => p.last_close)).toEqual([101, 103]);
    expect(feed.prices).toEqual([
      { time: '2024-01-01T01:00:00', close: 101 },
      { time: '2024-01-01T02:00:00', close: 103 },
    ]);
    expect(feed.messages).toBe(5);
    expect(feed.live).toBe(3);
    expect('type' in feed.predictions[0]).toBe(false);
  });

  it('merges a fetched prediction and tracks the socket status', () => {
    const { type: _t, ...p } = pred('2024-01-01T00:00:00', 100);
    let s = reduce(empty, predictionLoaded({ symbol: 'ETH-USDT', prediction: p }));
    expect(s.feeds['ETH-USDT'].predictions).toHaveLength(1);
    expect(s.feeds['ETH-USDT'].messages).toBe(0);
    expect(s.feeds['ETH-USDT'].live).toBe(0);
    s = reduce(s, socketStatus({ symbol: 'ETH-USDT', status: 'failed', error: 'role not allowed' }));
    expect(s.feeds['ETH-USDT'].error).toBe('role not allowed');
    s = reduce(s, socketStatus({ symbol: 'ETH-USDT', status: 'open' }));
    expect(s.feeds['ETH-USDT'].error).toBeNull();
  });
});

class FakeSocket implements SocketLike {
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  closed: number | null = null;
  constructor(readonly url: string) {}
  close(code?: number) {
    this.closed = code ?? 1000;
  }
  serverClose(code: number, reason = '') {
    this.onclose?.({ code, reason });
  }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const statuses: string[] = [];
  const messages: unknown[] = [];
  const reasons: string[] = [];
  let token = 1;
  const socket = new ReconnectingSocket({
    url: async (reason) => {
      reasons.push(reason);
      if (reason === 'reauth') token += 1;
      return `ws://x/ws?token=t${token}`;
    },
    create: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    onMessage: (m) => messages.push(m),
    onStatus: (s) => statuses.push(s),
    initialDelayMs: 100,
    maxDelayMs: 1000,
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => undefined,
  });
  const flush = () => new Promise((r) => setTimeout(r, 0));
  return { socket, sockets, timers, statuses, messages, reasons, flush };
}

describe('reconnecting socket', () => {
  it('classifies close codes', () => {
    expect(closeAction(4401)).toBe('reauth');
    expect(closeAction(4403)).toBe('stop');
    expect(closeAction(4400)).toBe('stop');
    expect(closeAction(1013)).toBe('reconnect');
    expect(closeAction(1006)).toBe('reconnect');
    expect(closeAction(4429)).toBe('reconnect');
  });

  it('reconnects with exponential backoff and resets after messages', async () => {
    const h = harness();
    h.socket.start();
    await h.flush();
    h.sockets[0].onopen?.({});
    h.sockets[0].onmessage?.({ data: 'hello' });
    h.sockets[0].serverClose(1006);
    expect(h.timers.map((t) => t.ms)).toEqual([100]);
    h.timers[0].fn();
    await h.flush();
    h.sockets[1].serverClose(1006);
    h.timers[1].fn();
    await h.flush();
    h.sockets[2].serverClose(1013);
    expect(h.timers.map((t) => t.ms)).toEqual([100, 200, 400]);
    expect(h.messages).toEqual(['hello']);
    expect(h.statuses).toContain('reconnecting');
    expect(h.sockets).toHaveLength(3);
  });

  it('gets a fresh token after 4401 and gives up after 4403', async () => {
    const h = harness();
    h.socket.start();
    await h.flush();
    h.sockets[0].serverClose(4401, 'token expired');
    expect(h.timers[0].ms).toBe(0);
    h.timers[0].fn();
    await h.flush();
    expect(h.reasons).toEqual(['start', 'reauth']);
    expect(h.sockets[1].url).toContain('token=t2');
    h.sockets[1].serverClose(4403, "role 'viewer' may not subscribe");
    expect(h.timers).toHaveLength(1);
    expect(h.statuses.at(-1)).toBe('failed');
  });

  it('stops cleanly: no reconnect after the client closes', async () => {
    const h = harness();
    h.socket.start();
    await h.flush();
    h.socket.stop();
    expect(h.sockets[0].closed).toBe(1000);
    h.sockets[0].serverClose(1006);
    expect(h.timers).toHaveLength(0);
    expect(h.statuses.at(-1)).toBe('closed');
  });
});

describe('stored history', () => {
  it('fills prices and predictions on first load and keeps what is already held', async () => {
    const { historyLoaded } = await import('./liveSlice');
    const { type: _t, ...latest } = pred('2024-01-01T02:00:00', 102, { model: { name: 'm', version: 3 }, skill: 'no demonstrated skill' });
    let s = reduce(empty, predictionLoaded({ symbol: 'BTC-USDT', prediction: latest }));
    const stored = (as_of: string, close: number) => {
      const { type: _x, ...p } = pred(as_of, close);
      return p;
    };
    s = reduce(
      s,
      historyLoaded({
        symbol: 'BTC-USDT',
        history: {
          symbol: 'BTC/USDT', interval: '1h', horizon: 1, synthetic_data: false,
          candles: [
            { time: '2024-01-01T00:00:00', open: 1, high: 1, low: 1, close: 100, volume: 1 },
            { time: '2024-01-01T01:00:00', open: 1, high: 1, low: 1, close: 101, volume: 1 },
            { time: '2024-01-01T02:00:00', open: 1, high: 1, low: 1, close: 102, volume: 1 },
          ],
          predictions: [stored('2024-01-01T01:00:00', 101), stored('2024-01-01T02:00:00', 102)],
        },
      }),
    );
    const feed = s.feeds['BTC-USDT'];
    expect(feed.prices.map((p) => p.close)).toEqual([100, 101, 102]);
    expect(feed.predictions.map((p) => p.as_of)).toEqual(['2024-01-01T01:00:00', '2024-01-01T02:00:00']);
    expect(feed.predictions[1].model?.version).toBe(3); // the fetched latest was kept
    expect(feed.live).toBe(0);
    s = reduce(s, messageReceived({ symbol: 'BTC-USDT', message: pred('2024-01-01T03:00:00', 103) }));
    expect(s.feeds['BTC-USDT'].prices.map((p) => p.close)).toEqual([100, 101, 102, 103]);
  });
});
