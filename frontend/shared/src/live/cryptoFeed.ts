import { selectSession, type WithAuth } from '../auth/authSlice';
import type { Client } from '../auth/client';
import { messageReceived, socketStatus, type CryptoSocketMessage } from './liveSlice';
import { ReconnectingSocket, type SocketFactory } from './socket';

type Dispatch = (action: { type: string; payload?: unknown }) => unknown;

export interface CryptoFeedDeps {
  client: Client;
  getState: () => unknown;
  dispatch: Dispatch;
  create?: SocketFactory;
  /** Origin of the page, when the client's baseUrl is '' (same origin). */
  pageOrigin?: string;
}

/** Subscribe to `/api/v1/ws/crypto` for one symbol: messages go to the live slice; the
 * token is refreshed (once, shared) when the server says it is no longer valid. */
export function connectCryptoFeed(symbol: string, deps: CryptoFeedDeps): ReconnectingSocket {
  const { client, getState, dispatch } = deps;
  const create: SocketFactory = deps.create ?? ((url) => new WebSocket(url) as unknown as ReturnType<SocketFactory>);
  const socket = new ReconnectingSocket({
    create,
    url: async (reason) => {
      let token: string | null;
      if (reason === 'reauth') {
        const held = selectSession(getState() as WithAuth)?.accessToken;
        token = (await client.refresher.refresh(getState, dispatch, held))?.accessToken ?? null;
      } else {
        token = await client.accessToken(getState, dispatch);
      }
      if (!token) return null;
      const query = new URLSearchParams({ symbol, token }).toString();
      return client.wsUrl(`/api/v1/ws/crypto?${query}`, deps.pageOrigin);
    },
    onMessage: (data) => {
      if (typeof data !== 'string') return;
      let message: CryptoSocketMessage;
      try {
        message = JSON.parse(data) as CryptoSocketMessage;
      } catch {
        return;
      }
      if (message && typeof message === 'object' && typeof message.type === 'string') {
        dispatch(messageReceived({ symbol, message }));
      }
    },
    onStatus: (status, error) => dispatch(socketStatus({ symbol, status, error })),
  });
  socket.start();
  return socket;
}
