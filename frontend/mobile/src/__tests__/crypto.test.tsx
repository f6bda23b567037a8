import { act, fireEvent, screen, waitFor } from '@testing-library/react-native';
import { prediction, renderApp } from '../test/harness';

const backtest = {
  symbol: 'BTC/USDT', interval: '1h', horizon: 1, skill: 'none', synthetic_data: false,
  model: { name: 'crypto_lstm', version: 3 },
  report: { metrics: { model: { mae: 1.5, rmse: 2.25, hit_rate: 0.51 } }, folds: [1, 2, 3], notes: ['walk-forward, 3 folds'] },
};

describe('crypto screen', () => {
  it('shows the latest prediction, then live ones over the WebSocket with the skill statement', async () => {
    const { sockets } = await renderApp({
      role: 'viewer',
      routes: { 'GET /api/v1/crypto/BTC-USDT/prediction': prediction('2024-01-01T01:00:00', 100), 'GET /api/v1/crypto/BTC-USDT/backtest': backtest },
    });
    expect(await screen.findByTestId('latest-prediction')).toHaveTextContent(/100\.00/);
    expect(screen.getByTestId('skill')).toHaveTextContent('Model skill: no demonstrated skill over the naive forecast');
    expect(await screen.findByText(/3 walk-forward folds/)).toBeOnTheScreen();
    await waitFor(() => expect(sockets.last).toBeDefined());
    expect(sockets.last.url).toBe('ws://suite.test/api/v1/ws/crypto?symbol=BTC-USDT&token=a1');
    await act(async () => {
      sockets.last.open();
      sockets.last.push({ type: 'subscribed', symbol: 'BTC/USDT', interval: '1h', horizons: [1] });
      sockets.last.push({ type: 'prediction', ...prediction('2024-01-01T02:00:00', 123.45, { skill: 'beats the naive forecast' }) });
    });
    expect(screen.getByTestId('live-status')).toHaveTextContent('live: open');
    expect(screen.getByTestId('live-count')).toHaveTextContent('1');
    expect(screen.getByTestId('latest-prediction')).toHaveTextContent(/123\.45/);
    expect(screen.getByTestId('skill')).toHaveTextContent(/beats the naive forecast/);
  });

  it('shows reconnecting when the socket drops and a new socket for another symbol', async () => {
    const { sockets } = await renderApp({ role: 'researcher', routes: {} });
    await waitFor(() => expect(sockets.last).toBeDefined());
    await act(async () => {
      sockets.last.open();
      sockets.last.drop(1006);
    });
    expect(screen.getByTestId('live-status')).toHaveTextContent('live: reconnecting');
    await fireEvent.press(screen.getByRole('radio', { name: 'ETH/USDT' }));
    await waitFor(() => expect(sockets.last.url).toContain('symbol=ETH-USDT'));
  });

  it('has an empty state and a readable error when there is no prediction yet', async () => {
    await renderApp({ role: 'viewer', routes: { 'GET /api/v1/crypto/BTC-USDT/prediction': { status: 503, body: { detail: 'no model registered yet' } } } });
    expect(await screen.findByText('Latest prediction: no model registered yet')).toBeOnTheScreen();
    expect(screen.getByTestId('waiting')).toHaveTextContent('Waiting for the first prediction…');
    expect(screen.getByText('No predictions yet')).toBeOnTheScreen();
  });

  it('refetches on pull to refresh', async () => {
    let n = 0;
    const { api } = await renderApp({
      role: 'viewer',
      routes: { 'GET /api/v1/crypto/BTC-USDT/prediction': () => prediction('2024-01-01T0' + String(++n) + ':00:00', 100 + n) },
    });
    await screen.findByTestId('latest-prediction');
    const before = api.calls.filter((c) => c.path.endsWith('/prediction')).length;
    await act(async () => {
      screen.getByTestId('crypto-screen').props.refreshControl.props.onRefresh();
    });
    await waitFor(() => expect(api.calls.filter((c) => c.path.endsWith('/prediction')).length).toBe(before + 1));
    await waitFor(() => expect(screen.getByTestId('latest-prediction')).toHaveTextContent(/102\.00/));
  });
});
