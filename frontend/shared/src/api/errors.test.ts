import { describe, expect, it } from 'vitest';
import { errorMessage, errorStatus } from './errors';

describe('errorMessage', () => {
  it('uses a string detail and the request id', () => {
    expect(errorMessage({ status: 404, data: { detail: "no user 'x'", request_id: 'r-1' } })).toBe("no user 'x' (request r-1)");
  });

  it('joins a list detail', () => {
    expect(errorMessage({ status: 422, data: { detail: ['password: too short', 'role: bad'] } })).toBe('password: too short; role: bad');
    expect(errorMessage({ status: 422, data: { detail: [{ loc: ['body', 'username'], msg: 'bad name' }] } })).toBe('username: bad name');
  });

  it('never shows HTML or a stack trace from the body', () => {
    const html = errorMessage({ status: 502, data: '<html><body><h1>Bad Gateway</h1></body></html>' });
    expect(html).toBe('The service is unreachable');
    const trace = errorMessage({ status: 500, data: 'Traceback (most recent call last):\n  File "x.py"' });
    expect(trace).toBe('The server failed to answer');
    expect(errorMessage({ status: 'PARSING_ERROR', originalStatus: 503, data: '<html>', error: 'SyntaxError: x' })).toBe(
      'The service is unavailable right now (HTTP 503)',
    );
  });

  it('describes network failures and unknown statuses', () => {
    expect(errorMessage({ status: 'FETCH_ERROR', error: 'TypeError: Failed to fetch' })).toMatch(/Cannot reach the server/);
    expect(errorMessage({ status: 418, data: {} })).toBe('Request failed (HTTP 418)');
    expect(errorMessage({ status: 403, data: null })).toBe('You do not have permission to do this');
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage(undefined)).toBe('Unknown error');
  });

  it('clips very long messages', () => {
    const text = errorMessage({ status: 400, data: { detail: 'x'.repeat(2000) } });
    expect(text.length).toBeLessThanOrEqual(500);
  });

  it('gives the status', () => {
    expect(errorStatus({ status: 403 })).toBe(403);
    expect(errorStatus({ status: 'FETCH_ERROR' })).toBeUndefined();
  });
});
