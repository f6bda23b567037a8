import { fireEvent, screen, waitFor } from '@testing-library/react-native';
import { SESSION_KEY } from '../session';
import { renderApp } from '../test/harness';

describe('login screen', () => {
  it('signs in, keeps the session in secure storage and shows the sections of the role', async () => {
    const { storage } = await renderApp({ role: 'viewer', signedIn: false });
    await fireEvent.changeText(screen.getByLabelText('Username'), 'ann');
    await fireEvent.changeText(screen.getByLabelText('Password'), 'pw');
    await fireEvent.press(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByTestId('whoami')).toHaveTextContent('ann · viewer');
    await waitFor(() => expect(JSON.parse(storage.data[SESSION_KEY]).session.refreshToken).toBe('r1'));
    const tabs = screen.getAllByRole('tab').map((t) => t.props.accessibilityLabel ?? '');
    expect(screen.getByRole('tab', { name: 'Crypto' })).toBeOnTheScreen();
    expect(screen.getByRole('tab', { name: 'Analytics' })).toBeOnTheScreen();
    expect(screen.queryByRole('tab', { name: 'Admin' })).toBeNull();
    expect(screen.queryByRole('tab', { name: 'OCR' })).toBeNull();
    expect(tabs).toHaveLength(2);
  });

  it('says so when the password is wrong and stays signed out', async () => {
    const { storage } = await renderApp({ signedIn: false });
    await fireEvent.changeText(screen.getByLabelText('Username'), 'ann');
    await fireEvent.changeText(screen.getByLabelText('Password'), 'nope');
    await fireEvent.press(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByTestId('login-error')).toHaveTextContent('Wrong username or password');
    expect(storage.data[SESSION_KEY]).toBeUndefined();
  });

  it('keeps the button disabled until both fields are filled', async () => {
    await renderApp({ signedIn: false });
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeDisabled();
    await fireEvent.changeText(screen.getByLabelText('Username'), 'ann');
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeDisabled();
  });

  it('refreshes an expiring stored session through the shared client and stores the new tokens', async () => {
    const { api, storage } = await renderApp({ role: 'viewer', expiresAt: Date.now() + 5_000, routes: { 'GET /api/v1/analytics/reports': [] } });
    await waitFor(() => expect(api.state.refreshes).toBe(1));
    await waitFor(() => expect(JSON.parse(storage.data[SESSION_KEY]).session.refreshToken).toBe('r2'));
  });

  it('signs out to the login screen and clears the stored session', async () => {
    const { storage } = await renderApp({ role: 'admin' });
    await fireEvent.press(screen.getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByTestId('login-screen')).toBeOnTheScreen();
    await waitFor(() => expect(storage.data[SESSION_KEY]).toBeUndefined());
  });
});
