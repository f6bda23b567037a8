import type { Job } from '../api/types';

/** Display helpers shared by the web and mobile screens (plain strings, no markup). */

export const SYMBOLS = ['BTC-USDT', 'ETH-USDT'];

export function pct(x: number | null | undefined, digits = 1): string {
  return typeof x === 'number' ? `${(x * 100).toFixed(digits)}%` : '—';
}

export function num(x: number | null | undefined, digits = 2): string {
  return typeof x === 'number'
    ? x.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '—';
}

/** '2024-01-01T02:00:00+00:00' -> '2024-01-01 02:00'. */
export function shortTime(iso: string): string {
  return iso.replace('T', ' ').slice(0, 16);
}

/** Seconds since the epoch (as the API sends them) as local date and time. */
export function epochText(seconds: unknown): string {
  return typeof seconds === 'number' ? new Date(seconds * 1000).toLocaleString() : '';
}

/** Any value as plain text for a table cell (objects as compact JSON). */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** The tone of a model's skill statement: skill ('success'), none shown ('info'), or significantly worse than persistence ('warning'). */
export function skillTone(skill: string): 'info' | 'success' | 'warning' {
  if (/significantly worse/i.test(skill)) return 'warning';
  return /no demonstrated skill/i.test(skill) ? 'info' : 'success';
}

/** Scalar fields of an object as {field, value} rows (nested objects left out). */
export function fieldRows(o: Record<string, unknown> | undefined | null): { field: string; value: unknown }[] {
  return o ? Object.entries(o).filter(([, v]) => typeof v !== 'object' || v === null).map(([field, value]) => ({ field, value })) : [];
}

/** A job's progress as the screens show it. */
export interface JobView {
  status: string;
  finished: boolean;
  failed: boolean;
  done: number;
  total: number | null;
  /** 0..1 when the job reports a total, else null (indeterminate). */
  fraction: number | null;
  /** '3 / 10' when the job has a total, else the count done. */
  progress: string;
}

export function jobView(job: Job | undefined | null): JobView {
  const status = job?.status ?? 'queued';
  const total = typeof job?.total === 'number' && job.total > 0 ? job.total : null;
  const done = Number(job?.done ?? 0);
  return {
    status,
    finished: status === 'succeeded' || status === 'failed',
    failed: status === 'failed',
    done,
    total,
    fraction: total ? Math.min(1, done / total) : null,
    progress: total ? `${done} / ${total}` : String(done),
  };
}

/** Why a job failed: the server's sentence for a person (`reason`) and the recorded error
 * behind it (`detail`, null when the reason says it all). Older servers send only `error`:
 * it is the reason then. */
export function jobFailure(job: { reason?: unknown; detail?: unknown; error?: unknown }): { reason: string; detail: string | null } {
  const { reason, detail, error } = job;
  const text = typeof reason === 'string' && reason ? reason : typeof error === 'string' && error ? error : 'The job failed.';
  return { reason: text, detail: typeof detail === 'string' && detail && detail !== text ? detail : null };
}

/** A batch job's outcome cell: 'done', its notice while it runs, or '' ; a failure is shown
 * with `jobFailure`. */
export function jobOutcome(job: Job): string {
  if (job.status === 'succeeded') return 'done';
  return job.status !== 'failed' && typeof job.notice === 'string' ? job.notice : '';
}

/** When a job was created (the API sends seconds since the epoch), or '—'. */
export const jobStarted = (job: Job): string => epochText(job.created_at) || '—';
