// "Train on this dataset": every "no model yet, train on ..." answer (HTTP 409 naming the
// training action) on the analytics page offers the action; it starts the training job
// for the dataset the answer names, shows the job's progress, and the answer comes back
// once the job succeeded.
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderSignedIn } from '../renderSignedIn';
import { AnalyticsPage, untrainedDataset } from './AnalyticsPage';

const UNTRAINED =
  "no clv model ('clv@my_shop') is registered for dataset 'my_shop' yet; train on this dataset: " +
  'POST /api/v1/analytics/training with {"dataset_id": "my_shop"} (the analytics page: "Train on this dataset")';

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

function server() {
  const trained = { done: false };
  const trainingBodies: unknown[] = [];
  let jobPolls = 0;
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(String(input), init);
    const path = new URL(req.url).pathname;
    if (path.endsWith('/clv')) {
      return trained.done
        ? json({ customer_id: '17850', dataset_id: 'my_shop', clv: 123.45, model: { name: 'clv@my_shop', version: 1 } })
        : json({ detail: UNTRAINED, request_id: 'r' }, 409);
    }
    if (path.endsWith('/segment')) return json({ customer_id: '17850', segment: 'Champions' });
    if (path === '/api/v1/analytics/segments') return json({ detail: 'no transactions imported', request_id: 'r' }, 404);
    if (path === '/api/v1/analytics/reports') return json([]);
    if (path === '/api/v1/analytics/training' && req.method === 'POST') {
      trainingBodies.push(JSON.parse(await req.text()));
      return json({ job_id: 'job12345abc', status: 'queued', dataset_id: 'my_shop', status_url: '/api/v1/jobs/job12345abc', events_channel: 'jobs.job12345abc' }, 202);
    }
    if (path === '/api/v1/jobs/job12345abc') {
      jobPolls += 1;
      if (jobPolls < 2) return json({ id: 'job12345abc', status: 'running', done: 1, total: 4 });
      trained.done = true;
      return json({ id: 'job12345abc', status: 'succeeded', done: 4, total: 4, result: { models: { 'clv@my_shop': 1 } } });
    }
    return json({ detail: `unexpected ${req.method} ${path}`, request_id: 'r' }, 500);
  });
  return { fetch, trainingBodies };
}

afterEach(() => vi.unstubAllGlobals());

describe('Train on this dataset', () => {
  it('recognises only the "train on ..." 409', () => {
    expect(untrainedDataset({ status: 409, data: { detail: UNTRAINED } })).toBe('my_shop');
    expect(untrainedDataset({ status: 404, data: { detail: UNTRAINED } })).toBeNull();
    expect(untrainedDataset({ status: 409, data: { detail: 'a training job is running' } })).toBeNull();
    expect(untrainedDataset(null)).toBeNull();
  });

  it('starts the training job for the named dataset, shows progress, then the answer', async () => {
    const api = server();
    vi.stubGlobal('fetch', api.fetch);
    renderSignedIn(<AnalyticsPage />, 'analyst');
    await userEvent.type(screen.getByLabelText('Customer id'), '17850');
    await userEvent.click(screen.getByRole('button', { name: 'Look up' }));
    const button = await screen.findByRole('button', { name: 'Train on this dataset' });
    expect(screen.getByTestId('train-action')).toHaveTextContent('dataset my_shop');

    await userEvent.click(button);
    await waitFor(() => expect(api.trainingBodies).toEqual([{ dataset_id: 'my_shop' }]));
    await waitFor(() => expect(screen.getByTestId('job-status')).toHaveTextContent('running'));
    expect(screen.getByTestId('train-action')).toHaveTextContent('(1 / 4)');
    expect(screen.queryByRole('button', { name: 'Train on this dataset' })).toBeNull();

    // the job succeeds: the lookup is asked again and answers from the user's model
    expect(await screen.findByText('123.45', {}, { timeout: 5000 })).toBeInTheDocument();
    expect(screen.getByLabelText('customer clv')).toHaveTextContent('my_shop');
    expect(screen.queryByRole('button', { name: 'Train on this dataset' })).toBeNull();
  }, 15000);
});
