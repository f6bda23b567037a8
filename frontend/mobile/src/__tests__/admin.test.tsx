import { fireEvent, screen } from '@testing-library/react-native';
import { renderApp } from '../test/harness';

describe('admin screen', () => {
  it('shows health, users and keys to an admin', async () => {
    await renderApp({
      role: 'admin',
      routes: {
        'GET /ready': { status: 503, body: { status: 'degraded', stores: { cache: 'timeout', db: 'ok' }, down: ['cache'] } },
        'GET /api/v1/users': [{ id: 'u1', username: 'ann', role: 'admin', disabled: false }, { id: 'u2', username: 'bob', role: 'viewer', disabled: true }],
        'GET /api/v1/apikeys': [],
      },
    });
    await fireEvent.press(screen.getByRole('tab', { name: 'Admin' }));
    expect(await screen.findByTestId('health')).toHaveTextContent('Degraded: cache down');
    expect(await screen.findByText('viewer · disabled')).toBeOnTheScreen();
    expect(await screen.findByText('No API keys')).toBeOnTheScreen();
  });

  it('shows an error from the server as text', async () => {
    await renderApp({ role: 'admin', routes: { 'GET /ready': { status: 200, body: { status: 'ok', stores: {}, down: [] } }, 'GET /api/v1/users': { status: 403, body: { detail: 'role admin required' } }, 'GET /api/v1/apikeys': [] } });
    await fireEvent.press(screen.getByRole('tab', { name: 'Admin' }));
    expect(await screen.findByText('role admin required')).toBeOnTheScreen();
    expect(await screen.findByTestId('health')).toHaveTextContent(/All stores up/);
  });

  it.each(['analyst', 'researcher', 'viewer'] as const)('is hidden from %s', async (role) => {
    await renderApp({ role });
    expect(screen.queryByRole('tab', { name: 'Admin' })).toBeNull();
    expect(screen.queryByTestId('admin-screen')).toBeNull();
  });
});
