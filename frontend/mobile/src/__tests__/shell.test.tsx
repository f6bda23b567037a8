import { act, screen, waitFor } from '@testing-library/react-native';
import { Dimensions, StyleSheet } from 'react-native';
import { prediction } from '../test/harness';
import { renderApp } from '../test/harness';

describe('app shell', () => {
  it('shows an offline banner and the feed as offline, and refetches when back online', async () => {
    const { network, api } = await renderApp({ role: 'viewer', routes: { 'GET /api/v1/analytics/reports': [] } });
    expect(screen.queryByTestId('offline')).toBeNull();
    await act(async () => network.set(false));
    expect(screen.getByTestId('offline')).toHaveTextContent(/You are offline/);
    expect(screen.getByTestId('live-status')).toHaveTextContent('live: offline');
    const before = api.calls.filter((c) => c.path.endsWith('/prediction')).length;
    await act(async () => network.set(true));
    expect(screen.queryByTestId('offline')).toBeNull();
    await waitFor(() => expect(api.calls.filter((c) => c.path.endsWith('/prediction')).length).toBeGreaterThan(before));
  });

  it('follows dark mode', async () => {
    await renderApp({ role: 'viewer', scheme: 'dark' });
    const bg = StyleSheet.flatten(screen.getByTestId('crypto-screen').props.style).backgroundColor;
    expect(bg).toBe('#0f1216');
  });

  it('uses the light palette otherwise', async () => {
    await renderApp({ role: 'viewer', scheme: 'light' });
    const bg = StyleSheet.flatten(screen.getByTestId('crypto-screen').props.style).backgroundColor;
    expect(bg).toBe('#f3f5f8');
  });

  it('stacks labels above values when the user chose large text', async () => {
    const window = Dimensions.get('window');
    const routes = { 'GET /api/v1/crypto/BTC-USDT/prediction': prediction('2024-01-01T01:00:00', 100) };
    await renderApp({ role: 'viewer', routes });
    const row = () => StyleSheet.flatten((screen.getByTestId('latest-prediction').children[0] as unknown as { props: { style: object } }).props.style) as { flexDirection?: string };
    await screen.findByTestId('latest-prediction');
    await act(async () => Dimensions.set({ window: { ...window, fontScale: 1 } }));
    await waitFor(() => expect(row().flexDirection).toBe('row'));
    await act(async () => Dimensions.set({ window: { ...window, fontScale: 2 } }));
    await waitFor(() => expect(row().flexDirection).toBe('column'));
    await act(async () => Dimensions.set({ window }));
  });
});
