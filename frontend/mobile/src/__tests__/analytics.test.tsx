import { act, fireEvent, screen, waitFor } from '@testing-library/react-native';
import { renderApp } from '../test/harness';

const segments = {
  customers: 4338, as_of: '2011-12-10', kmeans: { k: 4, silhouette: 0.61234 },
  segments: [
    { segment: 'Champions', customers: 900, total_monetary: 5_000_000 },
    { segment: 'At risk', customers: 400, total_monetary: 700_000 },
  ],
};
const reports = [
  { id: 'r1', title: 'Weekly report', created_at: 1_700_000_000, html_url: '/x.html' },
  { id: 'r2', title: 'Newest report', created_at: 1_700_500_000, html_url: '/y.html' },
];

async function openAnalytics() {
  await fireEvent.press(screen.getByRole('tab', { name: 'Analytics' }));
  return screen.findByTestId('analytics-screen');
}

describe('analytics screen', () => {
  it('shows the segment summary and the latest report to a viewer, without lookup or new reports', async () => {
    await renderApp({ role: 'viewer', routes: { 'GET /api/v1/analytics/segments': segments, 'GET /api/v1/analytics/reports': reports } });
    await openAnalytics();
    expect(await screen.findByTestId('segment-summary')).toHaveTextContent('4338 customers as of 2011-12-10; KMeans k = 4 (silhouette 0.6123)');
    expect(screen.getByLabelText(/Champions: 900 customers/)).toBeOnTheScreen();
    expect(await screen.findByTestId('latest-report')).toHaveTextContent(/Newest report/);
    expect(screen.getByText(/2 report\(s\) in all/)).toBeOnTheScreen();
    expect(screen.queryByText('Customer lookup')).toBeNull();
    expect(screen.queryByRole('button', { name: 'New report' })).toBeNull();
  });

  it('says there is no data yet and no reports yet', async () => {
    await renderApp({
      role: 'analyst',
      routes: { 'GET /api/v1/analytics/segments': { status: 404, body: { detail: "no transactions in table 'transactions'; import some first" } }, 'GET /api/v1/analytics/reports': [] },
    });
    await openAnalytics();
    expect(await screen.findByText(/import some first/)).toBeOnTheScreen();
    expect(await screen.findByText('No reports yet')).toBeOnTheScreen();
  });

  it('offers sample data in the empty state, says it is synthetic, then shows it', async () => {
    let imported = false;
    const posted: string[] = [];
    await renderApp({
      role: 'analyst',
      routes: {
        'GET /api/v1/analytics/segments': () =>
          imported ? { ...segments, dataset_id: 'synthetic_sample' } : { status: 404, body: { detail: "no transactions imported into 'transactions' yet" } },
        'GET /api/v1/analytics/reports': [],
        'POST /api/v1/analytics/imports/sample': () => {
          posted.push('sample');
          return {
            status: 202,
            body: { job_id: 'sample-job-1', status: 'queued', dataset_id: 'synthetic_sample', synthetic: true, source: 'SYNTHETIC transactions (1500 made-up customers)', status_url: '', events_channel: '' },
          };
        },
        'GET /api/v1/jobs/sample-job-1': () => {
          imported = true;
          return { id: 'sample-job-1', status: 'succeeded', done: 1, total: 1 };
        },
      },
    });
    await openAnalytics();
    expect(await screen.findByText(/try the app with sample data/)).toBeOnTheScreen();
    await fireEvent.press(screen.getByRole('button', { name: 'Load sample data' }));
    expect(await screen.findByTestId('sample-source')).toHaveTextContent(/SYNTHETIC transactions/);
    expect(screen.getByText(/Synthetic data: made-up customers/)).toBeOnTheScreen();
    expect(await screen.findByTestId('segment-summary', {}, { timeout: 5000 })).toHaveTextContent(/Dataset synthetic_sample: 4338 customers/);
    expect(posted).toEqual(['sample']);
    expect(screen.getByTestId('job-status')).toHaveTextContent('succeeded');
  });

  it('looks up a customer for an analyst, with a readable error for an unknown one', async () => {
    await renderApp({
      role: 'analyst',
      routes: {
        'GET /api/v1/analytics/segments': segments,
        'GET /api/v1/analytics/reports': [],
        'GET /api/v1/analytics/customers/12347/segment': { customer_id: '12347', segment: 'Champions', recency_days: 2 },
        'GET /api/v1/analytics/customers/12347/clv': { customer_id: '12347', clv: 4310.5 },
      },
    });
    await openAnalytics();
    await fireEvent.changeText(screen.getByLabelText('Customer id'), '12347');
    await fireEvent.press(screen.getByRole('button', { name: 'Look up' }));
    expect(await screen.findByTestId('customer-segment')).toHaveTextContent(/Champions/);
    expect(await screen.findByTestId('customer-clv')).toHaveTextContent(/4310\.5/);
    await fireEvent.changeText(screen.getByLabelText('Customer id'), 'nobody');
    await fireEvent.press(screen.getByRole('button', { name: 'Look up' }));
    expect(await screen.findByText(/Segment: Not Found/)).toBeOnTheScreen();
  });

  it('starts a report job and refreshes the list when it has finished; pull to refresh refetches', async () => {
    let made = false;
    const { api } = await renderApp({
      role: 'admin',
      routes: {
        'GET /api/v1/analytics/segments': segments,
        'GET /api/v1/analytics/reports': () => (made ? reports : []),
        'POST /api/v1/analytics/reports': { status: 202, body: { job_id: 'rep-job-1', status: 'queued', status_url: '', events_channel: '' } },
        'GET /api/v1/jobs/rep-job-1': () => {
          made = true;
          return { id: 'rep-job-1', status: 'succeeded' };
        },
      },
    });
    await openAnalytics();
    expect(await screen.findByText('No reports yet')).toBeOnTheScreen();
    await fireEvent.press(screen.getByRole('button', { name: 'New report' }));
    expect(await screen.findByTestId('latest-report', {}, { timeout: 5000 })).toHaveTextContent(/Newest report/);
    const before = api.calls.filter((c) => c.path === '/api/v1/analytics/segments').length;
    await act(async () => {
      screen.getByTestId('analytics-screen').props.refreshControl.props.onRefresh();
    });
    await waitFor(() => expect(api.calls.filter((c) => c.path === '/api/v1/analytics/segments').length).toBeGreaterThan(before));
    await waitFor(() => expect(screen.getByTestId('analytics-screen').props.refreshControl.props.refreshing).toBe(false));
  });
});
