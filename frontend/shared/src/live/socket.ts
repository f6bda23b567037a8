/** A WebSocket that reconnects with exponential backoff (browsers and React Native both
 * provide the WebSocket global; tests pass their own factory). */

export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export type CloseAction = 'reconnect' | 'reauth' | 'stop';

/** What to do after the server closed with `code` (the ingress's application codes:
 * 4401 no/bad token, 4403 role, 4400 bad request, 4429 rate limit; 1013 try again later). */
export function closeAction(code: number): CloseAction {
  if (code === 4401) return 'reauth';
  if (code === 4400 || code === 4403 || code === 1008) return 'stop';
  return 'reconnect';
}

export interface ReconnectingSocketOptions {
  /** The URL to connect to (asked anew for every attempt: tokens change); null: give up. */
  url: (reason: 'start' | 'reconnect' | 'reauth') => Promise<string | null>;
  create: SocketFactory;
  onMessage: (data: unknown) => void;
  onStatus: (status: 'connecting' | 'open' | 'reconnecting' | 'closed' | 'failed', error?: string | null) => void;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this many failed attempts in a row (default: never). */
  maxAttempts?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class ReconnectingSocket {
  private socket: SocketLike | null = null;
  private timer: unknown = null;
  private stopped = false;
  private failures = 0;
  private readonly opts: Required<Omit<ReconnectingSocketOptions, 'maxAttempts'>> & { maxAttempts: number };

  constructor(options: ReconnectingSocketOptions) {
    this.opts = {
      initialDelayMs: 500,
      maxDelayMs: 15_000,
      maxAttempts: Number.POSITIVE_INFINITY,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      ...options,
    };
  }

  start(): void {
    this.stopped = false;
    void this.connect('start');
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.opts.clearTimer(this.timer);
    this.timer = null;
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.onmessage = null;
      s.onerror = null;
      s.close(1000, 'client closed');
    }
    this.opts.onStatus('closed');
  }

  /** Delay before the next attempt after `failures` failures in a row. */
  delay(failures: number): number {
    return Math.min(this.opts.maxDelayMs, this.opts.initialDelayMs * 2 ** Math.max(0, failures - 1));
  }

  private async connect(reason: 'start' | 'reconnect' | 'reauth'): Promise<void> {
    if (this.stopped) return;
    this.opts.onStatus(reason === 'start' ? 'connecting' : 'reconnecting');
    const url = await this.opts.url(reason);
    if (this.stopped) return;
    if (url === null) {
      this.stopped = true;
      this.opts.onStatus('failed', 'Not signed in');
      return;
    }
    const socket = this.opts.create(url);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.opts.onStatus('open');
    };
    socket.onmessage = (ev) => {
      this.failures = 0;
      this.opts.onMessage(ev.data);
    };
    socket.onerror = () => {
      /* a close event follows */
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = null;
      const action = closeAction(ev.code);
      if (action === 'stop') {
        this.stopped = true;
        this.opts.onStatus('failed', ev.reason || `closed by the server (code ${ev.code})`);
        return;
      }
      this.failures += 1;
      if (!opened && this.failures >= this.opts.maxAttempts) {
        this.stopped = true;
        this.opts.onStatus('failed', ev.reason || 'cannot connect');
        return;
      }
      this.opts.onStatus('reconnecting', ev.reason || null);
      const wait = action === 'reauth' && this.failures === 1 ? 0 : this.delay(this.failures);
      this.timer = this.opts.setTimer(() => {
        this.timer = null;
        void this.connect(action === 'reauth' ? 'reauth' : 'reconnect');
      }, wait);
    };
  }
}
