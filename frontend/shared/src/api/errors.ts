/** Readable messages from API errors: `{"detail": string | string[] | object[], "request_id"}`
 * bodies, network failures and anything else, never a stack trace or raw HTML. */

export interface ApiErrorBody {
  detail?: unknown;
  request_id?: string;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'The request was not accepted',
  401: 'You are not signed in (or your session expired)',
  403: 'You do not have permission to do this',
  404: 'Not found',
  409: 'Conflict',
  413: 'The upload is too large',
  415: 'Unsupported file type',
  422: 'Some input was not valid',
  429: 'Too many requests; try again shortly',
  500: 'The server failed to answer',
  502: 'The service is unreachable',
  503: 'The service is unavailable right now',
  504: 'The service took too long to answer',
};

const MAX_LEN = 500;

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_LEN ? `${flat.slice(0, MAX_LEN - 1)}…` : flat;
}

function looksLikeMarkup(text: string): boolean {
  return /^\s*</.test(text) || /Traceback \(most recent call last\)/.test(text);
}

function detailText(detail: unknown): string | null {
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    const parts = detail
      .map((item) => {
        if (typeof item === 'string') return item;
        if (item && typeof item === 'object' && 'msg' in item) {
          const loc = (item as { loc?: unknown }).loc;
          const where = Array.isArray(loc) ? loc.filter((p) => p !== 'body').join('.') : '';
          const msg = String((item as { msg: unknown }).msg);
          return where ? `${where}: ${msg}` : msg;
        }
        return null;
      })
      .filter((p): p is string => !!p);
    return parts.length ? parts.join('; ') : null;
  }
  return null;
}

/** The message for an error thrown or returned by the API client (RTK Query error objects,
 * `{status, data}`, `Error`s, strings). */
export function errorMessage(error: unknown): string {
  if (error == null) return 'Unknown error';
  if (typeof error === 'string') return clip(error);
  if (typeof error === 'object') {
    const e = error as { status?: unknown; data?: unknown; error?: unknown; message?: unknown };
    if (e.status === 'FETCH_ERROR') return 'Cannot reach the server; check your connection';
    if (e.status === 'TIMEOUT_ERROR') return 'The server took too long to answer';
    if (e.status === 'PARSING_ERROR') {
      const code = (e as { originalStatus?: number }).originalStatus;
      return code && STATUS_TEXT[code] ? `${STATUS_TEXT[code]} (HTTP ${code})` : 'Unexpected answer from the server';
    }
    if (typeof e.status === 'number') {
      const body = e.data as ApiErrorBody | string | undefined;
      let text: string | null = null;
      if (body && typeof body === 'object') text = detailText(body.detail);
      else if (typeof body === 'string' && body && !looksLikeMarkup(body)) text = body;
      const base = text ? clip(text) : (STATUS_TEXT[e.status] ?? `Request failed (HTTP ${e.status})`);
      const rid = body && typeof body === 'object' ? body.request_id : undefined;
      return rid ? `${base} (request ${rid})` : base;
    }
    if (typeof e.error === 'string') return clip(e.error);
    if (typeof e.message === 'string') return clip(e.message);
  }
  return 'Unknown error';
}

/** The HTTP status of an API error, if it has one. */
export function errorStatus(error: unknown): number | undefined {
  if (error && typeof error === 'object' && typeof (error as { status?: unknown }).status === 'number') {
    return (error as { status: number }).status;
  }
  return undefined;
}
