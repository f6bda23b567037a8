import type { OcrDocument, OcrStarted } from '../api/types';

/** What an OCR upload answered: the document to open, and the job when it ran as one. */
export function uploadOutcome(data: OcrDocument | OcrStarted): { documentId: string; jobId: string | null } {
  const started = data as OcrStarted;
  if (typeof started.job_id === 'string') return { documentId: started.document_id, jobId: started.job_id };
  return { documentId: (data as OcrDocument).id, jobId: null };
}

/** Extracted fields per processor (e.g. receipt: vendor, date, total) as rows. */
export function fieldGroups(fields: OcrDocument['fields']): { processor: string; rows: { field: string; value: unknown }[] }[] {
  return Object.entries(fields ?? {}).map(([processor, values]) => ({
    processor,
    rows: Object.entries(values ?? {}).map(([field, value]) => ({ field, value })),
  }));
}

/** The recognised text of one page (or the whole document). */
export function pageText(doc: OcrDocument, page = 0): string {
  return doc.page_results?.[page]?.text ?? doc.text ?? '';
}

/** The one-line summary of a document's outcome. */
export function documentSummary(doc: OcrDocument): string {
  const pages = doc.pages ?? doc.page_results?.length ?? 0;
  const parts = [`Status ${doc.status}`, `${pages} page(s)`];
  if (typeof doc.mean_confidence === 'number') parts.push(`mean confidence ${doc.mean_confidence.toFixed(1)}%`);
  if (doc.timings?.total) parts.push(`${doc.timings.total.toFixed(2)} s`);
  return parts.join('; ');
}

/** The document is still being processed (poll it). */
export const isProcessing = (status: string | undefined): boolean => !status || status === 'processing';

/** Image types the OCR endpoint accepts, by file extension. */
export function imageMimeType(name: string): string {
  const ext = name.toLowerCase().split('.').pop() ?? '';
  return { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', tif: 'image/tiff', tiff: 'image/tiff', pdf: 'application/pdf' }[ext] ?? 'image/jpeg';
}
