/** Shapes of the Armillary ingress API (the parts the apps use). */

export type Role = 'admin' | 'analyst' | 'researcher' | 'viewer';
export const ROLES: Role[] = ['admin', 'analyst', 'researcher', 'viewer'];

export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

export interface Me {
  id: string;
  name: string;
  role: Role;
  kind: string;
}

export interface User {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  created_at?: number | string;
  [key: string]: unknown;
}

export interface NewUser {
  username: string;
  password: string;
  role: Role;
}

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  created_at?: number | string;
  revoked?: boolean;
  [key: string]: unknown;
}

export interface CreatedApiKey extends ApiKey {
  key: string;
  note?: string;
}

export interface AuditEntry {
  [key: string]: unknown;
}

export interface Readiness {
  status: string;
  stores: Record<string, string>;
  down: string[];
}

export interface ModelInfo {
  name: string;
  version: string | number;
  registered_at?: string;
  data_range?: Record<string, unknown>;
  data_source?: string | null;
  code_version?: string | null;
  architecture?: string | null;
}

export type SkillVerdict = 'skill' | 'worse' | 'none';

export interface CryptoPrediction {
  symbol: string;
  interval: string;
  horizon: number;
  as_of: string;
  target_time: string;
  last_close: number;
  predicted_return: number | null;
  predicted_close: number | null;
  prob_up: number | null;
  /** The one direction answer: 'up' when prob_up > 0.5 (the direction head). */
  direction: string;
  /** Sign of predicted_return (the return head): 'up', 'down' or 'flat'. */
  return_direction?: string;
  /** Whether the return head's sign agrees with direction. */
  heads_agree?: boolean;
  /** What direction means, and what a disagreement of the heads means. */
  direction_note?: string;
  model_version: string | null;
  model?: ModelInfo;
  skill?: string;
  /** 'skill' (MASE <= 1 - minimum improvement, DM significant), 'worse' (significantly worse than persistence) or 'none'. */
  skill_verdict?: SkillVerdict;
  synthetic_data?: boolean;
  note?: string;
  cached?: boolean;
}

export interface Candle {
  time: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  source?: string;
}

/** `GET /api/v1/crypto/{symbol}/history`: the newest stored candles (oldest first) and the
 * real-time predictions stored at them. */
export interface CryptoHistory {
  symbol: string;
  interval: string;
  horizon: number;
  candles: Candle[];
  predictions: CryptoPrediction[];
  synthetic_data: boolean;
}

export interface Backtest {
  symbol: string;
  interval: string;
  horizon: number;
  model: ModelInfo;
  skill: string;
  skill_verdict?: SkillVerdict;
  synthetic_data: boolean;
  report: Record<string, unknown>;
}

export interface Job {
  id: string;
  kind?: string;
  status: string;
  progress?: number | null;
  result?: unknown;
  error?: string | null;
  /** A failed job: what happened, as a sentence for a person (and what to do). */
  reason?: string;
  /** A failed job: the recorded error behind `reason` (null when the reason says it all). */
  detail?: string | null;
  [key: string]: unknown;
}

export interface JobStarted {
  job_id: string;
  status: string;
  status_url: string;
  events_channel: string;
  [key: string]: unknown;
}

export interface SampleStarted extends JobStarted {
  dataset_id: string;
  /** Where the sample's transactions come from, in words. */
  source: string;
  synthetic: boolean;
}

export interface Segments {
  [key: string]: unknown;
}

export interface UpliftCustomer {
  customer_id: string;
  recency: number;
  history: number;
  mens: 0 | 1;
  womens: 0 | 1;
  zip_code: 'Urban' | 'Surburban' | 'Rural';
  newbie: 0 | 1;
  channel: 'Phone' | 'Web' | 'Multichannel';
}

export interface TargetingRequest {
  customers: UpliftCustomer[];
  budget: number;
  cost_per_contact: number;
  value_per_outcome?: number;
}

export interface AllocationRequest {
  total?: number;
  current?: Record<string, number>;
  bounds?: Record<string, { min: number; max: number }>;
}

export interface Report {
  id: string;
  title?: string;
  created_at?: number | string;
  [key: string]: unknown;
}

export interface OcrWord {
  text: string;
  left: number;
  top: number;
  width: number;
  height: number;
  confidence?: number;
  [key: string]: unknown;
}

export interface OcrPage {
  page: number;
  width: number;
  height: number;
  text: string;
  words: OcrWord[];
  mean_confidence?: number | null;
  source?: string;
  [key: string]: unknown;
}

export interface OcrDocumentSummary {
  id: string;
  filename?: string;
  status: string;
  pages?: number;
  created_at?: number;
  [key: string]: unknown;
}

export interface OcrDocument extends OcrDocumentSummary {
  text?: string;
  page_results?: OcrPage[];
  fields?: Record<string, Record<string, unknown>>;
  page_image_urls?: string[];
  mean_confidence?: number | null;
  timings?: Record<string, number>;
  url?: string;
  pdf_url?: string | null;
}

/** 202 answer of an OCR upload run as a job. */
export interface OcrStarted {
  job_id: string;
  document_id: string;
  document_url?: string;
  status_url?: string;
  events_channel?: string;
  [key: string]: unknown;
}
