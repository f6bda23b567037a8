import { describe, expect, it } from 'vitest';
import { latestReport } from './analytics';
import { cellText, fieldRows, jobFailure, jobOutcome, jobStarted, jobView, pct, shortTime, skillTone } from './format';
import { visibleSections } from './nav';
import { documentSummary, fieldGroups, imageMimeType, uploadOutcome } from './ocr';

describe('display helpers', () => {
  it('formats numbers, times and cells', () => {
    expect(pct(0.1234)).toBe('12.3%');
    expect(pct(null)).toBe('—');
    expect(shortTime('2024-01-01T02:00:00+00:00')).toBe('2024-01-01 02:00');
    expect(cellText(0.12345678)).toBe('0.1235');
    expect(cellText({ a: 1 })).toBe('{"a":1}');
    expect(skillTone('no demonstrated skill over the naive forecast')).toBe('info');
    expect(skillTone('significantly worse than persistence: MASE 1.040, DM p=0.0164 (n=500)')).toBe('warning');
    expect(skillTone('beats the naive forecast (DM p=0.01)')).toBe('success');
    expect(fieldRows({ a: 1, b: { c: 2 }, d: null })).toEqual([{ field: 'a', value: 1 }, { field: 'd', value: null }]);
  });

  it('reads job progress', () => {
    expect(jobView(undefined)).toMatchObject({ status: 'queued', finished: false, fraction: null, progress: '0' });
    expect(jobView({ id: 'j', status: 'running', done: 3, total: 12 })).toMatchObject({ fraction: 0.25, progress: '3 / 12', finished: false });
    expect(jobView({ id: 'j', status: 'failed', done: 1, total: 0 })).toMatchObject({ finished: true, failed: true, total: null });
  });
});

describe('sections per role', () => {
  it('hides admin from everyone but admins and OCR from viewers and researchers', () => {
    expect(visibleSections('admin').map((s) => s.id)).toEqual(['crypto', 'ocr', 'analytics', 'admin']);
    expect(visibleSections('analyst').map((s) => s.id)).toEqual(['crypto', 'ocr', 'analytics']);
    expect(visibleSections('viewer').map((s) => s.id)).toEqual(['crypto', 'analytics']);
    expect(visibleSections(null).map((s) => s.id)).toEqual(['crypto', 'analytics']);
  });
});

describe('OCR and analytics answers', () => {
  it('tells a finished document from a started job', () => {
    expect(uploadOutcome({ job_id: 'j1', document_id: 'd1' })).toEqual({ documentId: 'd1', jobId: 'j1' });
    expect(uploadOutcome({ id: 'd2', status: 'succeeded' })).toEqual({ documentId: 'd2', jobId: null });
    expect(fieldGroups({ receipt: { total: '12.50' } })).toEqual([{ processor: 'receipt', rows: [{ field: 'total', value: '12.50' }] }]);
    expect(fieldGroups(undefined)).toEqual([]);
    expect(documentSummary({ id: 'd', status: 'succeeded', pages: 1, mean_confidence: 91.26 })).toBe('Status succeeded; 1 page(s); mean confidence 91.3%');
    expect(imageMimeType('IMG_1.JPG')).toBe('image/jpeg');
    expect(imageMimeType('scan.png')).toBe('image/png');
  });

  it('picks the newest report', () => {
    expect(latestReport([])).toBeNull();
    expect(latestReport([{ id: 'a', created_at: 10 }, { id: 'b', created_at: 30 }, { id: 'c', created_at: 20 }])?.id).toBe('b');
  });
});

describe('job failures', () => {
  it('reads the reason, with the recorded error only when it adds something', () => {
    const reason = 'The worker was stopped (signal 15, SIGTERM) before the job finished; it was not retried.';
    expect(jobFailure({ reason, detail: 'SystemExit: 15', error: 'SystemExit: 15' })).toEqual({ reason, detail: 'SystemExit: 15' });
    expect(jobFailure({ reason: 'No rows.', detail: 'No rows.' })).toEqual({ reason: 'No rows.', detail: null });
    expect(jobFailure({ error: "an old server's error" })).toEqual({ reason: "an old server's error", detail: null });
    expect(jobFailure({})).toEqual({ reason: 'The job failed.', detail: null });
  });

  it('states a batch outcome and start time', () => {
    expect(jobOutcome({ id: 'a', status: 'succeeded' })).toBe('done');
    expect(jobOutcome({ id: 'a', status: 'running', notice: 'slow store' })).toBe('slow store');
    expect(jobOutcome({ id: 'a', status: 'failed', notice: 'x' })).toBe('');
    expect(jobStarted({ id: 'a', status: 'running' })).toBe('—');
  });
});
