// "Needs transactions first": the segment overview's empty state offers sample data to an
// analyst; loading it says where the data comes from (and warns when it is synthetic),
// fills the overview with that dataset and offers training on it. A viewer, who may not
// import, gets the message only.
import type { Role } from '@armillary/shared';
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderSignedIn } from '../renderSignedIn';
import { AnalyticsPage } from './AnalyticsPage';

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const SEGMENTS = {
  dataset_id: 'synthetic_sample',
  customers: 1500,
  as_of: '2011-12-31',
  kmeans: { k: 4, silhouette: 0.41 },
  segments: [{ segment: 'Champions', customers: 300, total_monetary: 1000 }],
  clusters: [],
};

function server() {
  const state = { imported: false, polls: 0, sampleBodies: [] as unknown[], segmentParams: [] as string[] };
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(req.url);
    if (url.pathname === '/api/v1/analytics/segments') {
      state.segmentParams.push(url.search);
      return state.imported
        ? json(SEGMENTS)
        : json({ detail: "no transactions imported into 'transactions' yet", request_id: 'r' }, 404);
    }
    if (url.pathname === '/api/v1/analytics/reports') return json([]);
    if (url.pathname === '/api/v1/analytics/imports/sample' && req.method === 'POST') {
      state.sampleBodies.push(JSON.parse(await req.text()));
      return json({
        job_id: 'sample1234', status: 'queued', dataset_id: 'synthetic_sample', synthetic: true,
        source: 'SYNTHETIC transactions (1500 made-up customers, generated here: no real data was found)',
        status_url: '/api/v1/jobs/sample1234', events_channel: 'jobs.sample1234',
      }, 202);
    }
    if (url.pathname === '/api/v1/jobs/sample1234') {
      state.polls += 1;
      if (state.polls < 2) return json({ id: 'sample1234', status: 'running', done: 0, total: 1 });
      state.imported = true;
      return json({ id: 'sample1234', status: 'succeeded', done: 1, total: 1, result: { dataset_id: 'synthetic_sample' } });
    }
    return json({ detail: `unexpected ${req.method} ${url.pathname}`, request_id: 'r' }, 500);
  });
  return { fetch, state };
}

const renderAs = (role: Role) => renderSignedIn(<AnalyticsPage />, role);

afterEach(() => vi.unstubAllGlobals());

describe('Sample data', () => {
  it('an analyst loads the sample from the empty overview, is told it is synthetic, and sees it', async () => {
    const api = server();
    vi.stubGlobal('fetch', api.fetch);
    renderAs('analyst');
    const status = await screen.findByRole('status');
    expect(status).toHaveTextContent("no transactions imported into 'transactions' yet");
    expect(status).toHaveTextContent('try the page with sample data');
    // the overview asks for the caller's latest import, not a fixed table
    expect(api.state.segmentParams[0]).toBe('');

    await userEvent.click(screen.getByRole('button', { name: 'Load sample data' }));
    await waitFor(() => expect(api.state.sampleBodies).toEqual([{}]));
    expect(await screen.findByTestId('sample-source')).toHaveTextContent('SYNTHETIC transactions');
    expect(screen.getByText(/Synthetic data: made-up customers/)).toBeInTheDocument();

    // the import succeeds: the overview answers from the sample, training is offered
    expect(await screen.findByTestId('segment-summary', {}, { timeout: 5000 })).toHaveTextContent(
      'Dataset synthetic_sample: 1500 customers',
    );
    expect(screen.getByRole('button', { name: 'Train on this dataset' })).toBeInTheDocument();
    expect(screen.getByTestId('train-action')).toHaveTextContent('dataset synthetic_sample');
    expect(screen.queryByRole('button', { name: 'Load sample data' })).toBeNull();
  }, 15000);

  it('a viewer gets the message without the action', async () => {
    const api = server();
    vi.stubGlobal('fetch', api.fetch);
    renderAs('viewer');
    const status = await screen.findByRole('status');
    expect(status).toHaveTextContent('no transactions imported');
    expect(status).not.toHaveTextContent('sample data');
    expect(screen.queryByRole('button', { name: 'Load sample data' })).toBeNull();
  });
});
