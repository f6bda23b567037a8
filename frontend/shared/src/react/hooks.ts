import { createContext, useContext, useEffect, useRef, useState } from 'react';
import { useDispatch, useSelector, useStore } from 'react-redux';
import { useJobQuery, useLazyCustomerClvQuery, useLazyCustomerSegmentQuery, useOcrDocumentQuery, useOcrUploadMutation, usePredictionQuery } from '../api/api';
import type { Client } from '../auth/client';
import { connectCryptoFeed } from '../live/cryptoFeed';
import { predictionLoaded, selectFeed } from '../live/liveSlice';
import type { SocketFactory } from '../live/socket';
import { isProcessing, uploadOutcome } from '../present/ocr';
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

/** The latest prediction over HTTP plus live predictions over the WebSocket for `symbol`,
 * merged in the live slice; the socket lives as long as the component. */
export function useCryptoFeed(symbol: string, options: LiveFeedOptions = {}) {
  const client = useClient();
  const store = useStore<RootState>();
  const dispatch = useAppDispatch();
  const feed = useAppSelector((s) => selectFeed(s, symbol));
  const latest = usePredictionQuery({ symbol }, { refetchOnReconnect: true });
  const { create, pageOrigin } = options;

  useEffect(() => {
    if (latest.data) dispatch(predictionLoaded({ symbol, prediction: latest.data }));
  }, [latest.data, symbol, dispatch]);

  useEffect(() => {
    const socket = connectCryptoFeed(symbol, { client, getState: store.getState, dispatch: store.dispatch, create, pageOrigin });
    return () => socket.stop();
  }, [symbol, client, store, create, pageOrigin]);

  const newest = feed.predictions.length ? feed.predictions[feed.predictions.length - 1] : null;
  return { feed, latest, newest };
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
