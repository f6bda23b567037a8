import { createSlice, type PayloadAction } from '@reduxjs/toolkit';
import type { CryptoHistory, CryptoPrediction } from '../api/types';

export type SocketStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed' | 'failed';

export interface PricePoint {
  time: string; // candle open time (ISO)
  close: number;
}

export interface SymbolFeed {
  status: SocketStatus;
  error: string | null;
  interval: string | null;
  horizons: number[];
  /** Newest last; at most MAX_POINTS. */
  predictions: CryptoPrediction[];
  /** Closes of the candles the predictions were made at (the live candles), newest last. */
  prices: PricePoint[];
  messages: number;
  /** Predictions that arrived over the WebSocket (not fetched). */
  live: number;
}

export interface LiveState {
  feeds: Record<string, SymbolFeed>;
}

export const MAX_POINTS = 500;

const emptyFeed = (): SymbolFeed => ({
  status: 'idle', error: null, interval: null, horizons: [], predictions: [], prices: [], messages: 0, live: 0,
});

function feedOf(state: LiveState, symbol: string): SymbolFeed {
  state.feeds[symbol] ??= emptyFeed();
  return state.feeds[symbol];
}

function addPrice(feed: SymbolFeed, point: PricePoint): void {
  const i = feed.prices.findIndex((p) => p.time === point.time);
  if (i >= 0) feed.prices[i] = point;
  else {
    feed.prices.push(point);
    feed.prices.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  }
  if (feed.prices.length > MAX_POINTS) feed.prices.splice(0, feed.prices.length - MAX_POINTS);
}

function addPrediction(feed: SymbolFeed, prediction: CryptoPrediction): void {
  const same = feed.predictions.findIndex((q) => q.as_of === prediction.as_of && q.horizon === prediction.horizon);
  if (same >= 0) feed.predictions[same] = prediction;
  else feed.predictions.push(prediction);
  feed.predictions.sort((a, b) => (a.as_of < b.as_of ? -1 : a.as_of > b.as_of ? 1 : 0));
  if (feed.predictions.length > MAX_POINTS) feed.predictions.splice(0, feed.predictions.length - MAX_POINTS);
  if (typeof prediction.last_close === 'number') addPrice(feed, { time: prediction.as_of, close: prediction.last_close });
}

/** A message of the crypto WebSocket: subscribed, prediction or ping. */
export type CryptoSocketMessage =
  | { type: 'subscribed'; symbol: string; interval: string; horizons: number[]; [k: string]: unknown }
  | ({ type: 'prediction' } & CryptoPrediction)
  | { type: 'ping' }
  | { type: string; [k: string]: unknown };

export const liveSlice = createSlice({
  name: 'live',
  initialState: { feeds: {} } as LiveState,
  reducers: {
    socketStatus(state, action: PayloadAction<{ symbol: string; status: SocketStatus; error?: string | null }>) {
      const feed = feedOf(state, action.payload.symbol);
      feed.status = action.payload.status;
      if (action.payload.error !== undefined) feed.error = action.payload.error;
      else if (action.payload.status === 'open') feed.error = null;
    },
    /** A prediction fetched over HTTP (the latest), merged like a live one. */
    predictionLoaded(state, action: PayloadAction<{ symbol: string; prediction: CryptoPrediction }>) {
      addPrediction(feedOf(state, action.payload.symbol), action.payload.prediction);
    },
    /** Stored history fetched over HTTP (first load): candle closes and the predictions made
     * at them; a prediction already held (the fetched latest, a live one) is kept. */
    historyLoaded(state, action: PayloadAction<{ symbol: string; history: CryptoHistory }>) {
      const feed = feedOf(state, action.payload.symbol);
      const { candles, predictions } = action.payload.history;
      const prices = new Map(feed.prices.map((p) => [p.time, p]));
      for (const c of candles) if (!prices.has(c.time)) prices.set(c.time, { time: c.time, close: c.close });
      feed.prices = [...prices.values()].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)).slice(-MAX_POINTS);
      const held = new Set(feed.predictions.map((p) => `${p.as_of}|${p.horizon}`));
      for (const p of predictions) if (!held.has(`${p.as_of}|${p.horizon}`)) feed.predictions.push(p);
      feed.predictions.sort((a, b) => (a.as_of < b.as_of ? -1 : a.as_of > b.as_of ? 1 : 0));
      if (feed.predictions.length > MAX_POINTS) feed.predictions.splice(0, feed.predictions.length - MAX_POINTS);
    },
    messageReceived(state, action: PayloadAction<{ symbol: string; message: CryptoSocketMessage }>) {
      const { symbol, message } = action.payload;
      const feed = feedOf(state, symbol);
      feed.messages += 1;
      if (message.type === 'subscribed') {
        const m = message as { interval?: string; horizons?: number[] };
        feed.interval = m.interval ?? null;
        feed.horizons = Array.isArray(m.horizons) ? m.horizons : [];
      } else if (message.type === 'prediction') {
        const { type: _type, ...p } = message as { type: string } & CryptoPrediction;
        addPrediction(feed, p as CryptoPrediction);
        feed.live += 1;
      }
    },
    feedCleared(state, action: PayloadAction<string>) {
      delete state.feeds[action.payload];
    },
  },
});

export const { socketStatus, messageReceived, predictionLoaded, historyLoaded, feedCleared } = liveSlice.actions;

/** One feed object for all symbols without one yet: a selector must return the same reference. */
const NO_FEED: SymbolFeed = Object.freeze(emptyFeed()) as SymbolFeed;

export const selectFeed = (s: { live: LiveState }, symbol: string): SymbolFeed => s.live.feeds[symbol] ?? NO_FEED;
export const selectLatestPrediction = (s: { live: LiveState }, symbol: string): CryptoPrediction | null => {
  const p = s.live.feeds[symbol]?.predictions;
  return p && p.length ? p[p.length - 1] : null;
};
