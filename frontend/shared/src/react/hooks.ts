import { createContext, useContext, useEffect, useRef, useState } from 'react';
import { useDispatch, useSelector, useStore } from 'react-redux';
import {
  useBacktestQuery,
  useCryptoHistoryQuery,
  useImportCandlesMutation,
  useJobQuery,
  useLazyCustomerClvQuery,
  useLazyCustomerSegmentQuery,
  useOcrDocumentQuery,
  useOcrUploadMutation,
  usePredictionQuery,
} from '../api/api';
import { errorStatus } from '../api/errors';
import type { Client } from '../auth/client';
import { connectCryptoFeed } from '../live/cryptoFeed';
import { historyLoaded, predictionLoaded, selectFeed } from '../live/liveSlice';
import type { SocketFactory } from '../live/socket';
import { isProcessing, uploadOutcome } from '../present/ocr';
import { historyEmpty, pairName, withModelDetails } from '../present/crypto';
import { jobView } from '../present/format';
import type { AppDispatch, RootState } from '../store';

/** React bindings both apps use (react-redux and React are the apps' own, one copy each). */
export const useAppDispatch = useDispatch.withTypes<AppDispatch>();
export const useAppSelector = useSelector.withTypes<RootState>();

export const ClientContext = createContext<Client | null>(null);

export function useClient(): Client {
  const client = useContext(ClientContext);
  if (!client) throw new Error('ClientContext missing');
  return client;
}

export interface LiveFeedOptions {
  /** WebSocket factory (default: the platform's WebSocket). */
  create?: SocketFactory;
  /** The page's origin when the API is on the same origin (web). */
  pageOrigin?: string;
}

/** How often the crypto feed checks again while the model is not ready or no candles are stored. */
export const CRYPTO_WAIT_POLL_MS = 15_000;

/** How many stored candles (and the predictions at them) the feed loads on first load. */
export const CRYPTO_HISTORY_LIMIT = 200;

/** The stored history (candles and the predictions made at them) and the latest prediction
 * over HTTP, then live predictions over the WebSocket for `symbol`, merged in the live slice;
 * the socket lives as long as the component. While the model is not ready (an error) or no
 * candles are stored, both HTTP parts are polled. */
export function useCryptoFeed(symbol: string, options: LiveFeedOptions = {}) {
  const client = useClient();
  const store = useStore<RootState>();
  const dispatch = useAppDispatch();
  const feed = useAppSelector((s) => selectFeed(s, symbol));
  const [waiting, setWaiting] = useState(false);
  const poll = { pollingInterval: waiting ? CRYPTO_WAIT_POLL_MS : 0, refetchOnReconnect: true };
  const latest = usePredictionQuery({ symbol }, poll);
  const history = useCryptoHistoryQuery({ symbol, limit: CRYPTO_HISTORY_LIMIT }, poll);
  const { create, pageOrigin } = options;

  useEffect(() => setWaiting(!!latest.error || historyEmpty(history.data)), [latest.error, history.data]);

  useEffect(() => {
    if (history.data) dispatch(historyLoaded({ symbol, history: history.data }));
  }, [history.data, symbol, dispatch]);

  useEffect(() => {
    if (latest.data) dispatch(predictionLoaded({ symbol, prediction: latest.data }));
  }, [latest.data, symbol, dispatch]);

  useEffect(() => {
    const socket = connectCryptoFeed(symbol, { client, getState: store.getState, dispatch: store.dispatch, create, pageOrigin });
    return () => socket.stop();
  }, [symbol, client, store, create, pageOrigin]);

  const last = feed.predictions.length ? feed.predictions[feed.predictions.length - 1] : null;
  const newest = withModelDetails(last, latest.data);
  // while a model trains (503), its job may be loading the candles: that, not "import some"
  const training = errorStatus(latest.error) === 503;
  const noCandles = !training && historyEmpty(history.data) && feed.prices.length === 0;
  const refetch = () => {
    void history.refetch();
    void latest.refetch();
  };
  return { feed, latest, history, newest, training, noCandles, waiting, refetch };
}

/** Import an OHLCV CSV of candles for `symbol`; `onImported` runs when the server took it. */
export function useCandleImport(symbol: string, onImported: () => void) {
  const [send, result] = useImportCandlesMutation();
  const importFile = async (file: Blob | { uri: string; name: string; type: string }) => {
    const body = new FormData();
    body.append('file', file as Blob);
    body.append('symbol', pairName(symbol));
    const r = await send(body);
    if ('data' in r) onImported();
  };
  return { importFile, result };
}

/** The stored walk-forward backtest, checked again every 15 s while there is none (a model
 * in training); `pending` when the server says there is none yet (404/503). */
export function useBacktest(symbol: string) {
  const [poll, setPoll] = useState(0);
  const backtest = useBacktestQuery({ symbol }, { pollingInterval: poll });
  useEffect(() => setPoll(backtest.error ? CRYPTO_WAIT_POLL_MS : 0), [backtest.error]);
  const status = errorStatus(backtest.error);
  return { backtest, pending: !!backtest.error && (status === 404 || status === 503) };
}

/** Poll a job every `intervalMs` until it has finished; `onDone` is called once. */
export function useJobPolling(id: string, onDone?: (ok: boolean) => void, intervalMs = 1000) {
  const [finished, setFinished] = useState(false);
  const job = useJobQuery(id, { pollingInterval: finished ? 0 : intervalMs });
  const view = jobView(job.data);
  const notified = useRef(false);
  useEffect(() => {
    if (view.finished && !notified.current) {
      notified.current = true;
      setFinished(true);
      onDone?.(view.status === 'succeeded');
    }
  }, [view.finished, view.status, onDone]);
  return { job, view };
}

/** An OCR document, polled while it is being processed. */
export function useDocumentPolling(id: string, intervalMs = 1500) {
  const [poll, setPoll] = useState(true);
  const doc = useOcrDocumentQuery(id, { pollingInterval: poll ? intervalMs : 0 });
  const status = doc.data?.status;
  useEffect(() => {
    if (status && !isProcessing(status)) setPoll(false);
  }, [status]);
  return doc;
}

/** Upload a document to OCR (as a job when `runAsync`): opens the document it made and
 * keeps the job's id to show its progress. */
export function useOcrUpload(onOpen: (documentId: string) => void) {
  const [upload, result] = useOcrUploadMutation();
  const [jobId, setJobId] = useState<string | null>(null);
  const recognise = async (body: FormData, runAsync: boolean) => {
    setJobId(null);
    const r = await upload({ body, async: runAsync });
    if ('data' in r && r.data) {
      const { documentId, jobId: started } = uploadOutcome(r.data);
      if (started) setJobId(started);
      onOpen(documentId);
    }
  };
  return { recognise, result, jobId };
}

/** A customer's segment and lifetime value, looked up together. */
export function useCustomerLookup() {
  const [segment, seg] = useLazyCustomerSegmentQuery();
  const [clv, clvResult] = useLazyCustomerClvQuery();
  const lookup = (id: string) => {
    const key = id.trim();
    if (!key) return;
    void segment({ id: key });
    void clv({ id: key });
  };
  return { lookup, segment: seg, clv: clvResult };
}
