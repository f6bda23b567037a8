import type { Report, Segments } from '../api/types';

export interface SegmentRow {
  segment?: string;
  customers?: number;
  share?: number;
  recency_days?: number;
  frequency?: number;
  monetary?: number;
  total_monetary?: number;
  [key: string]: unknown;
}

export interface SegmentSummary {
  dataset_id?: string;
  customers?: number;
  as_of?: string;
  kmeans?: { k: number; silhouette: number };
  segments?: SegmentRow[];
  clusters?: Record<string, unknown>[];
}

export const asSegmentSummary = (data: Segments | undefined): SegmentSummary | undefined => data as SegmentSummary | undefined;

/** The newest report (by creation time), or null when there is none. */
export function latestReport(reports: Report[] | undefined): Report | null {
  if (!reports?.length) return null;
  const t = (r: Report) => (typeof r.created_at === 'number' ? r.created_at : Date.parse(String(r.created_at ?? '')) / 1000 || 0);
  return reports.reduce((a, b) => (t(b) > t(a) ? b : a));
}
