import { signedIn, type Me } from '@armillary/shared';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Provider } from 'react-redux';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { describe, expect, it } from 'vitest';
import { App } from '../App';
import { ClientContext } from '../clientContext';
import { makeStore } from '../store';
import { parseCustomers } from '../pages/AnalyticsPage';
import { DataTable } from './DataTable';
import { ErrorAlert } from './ErrorAlert';
import { Layout } from './Layout';

const memory = (): Storage => {
  const m = new Map<string, string>();
  return {
    get length() {
      return m.size;
    },
    clear: () => m.clear(),
    getItem: (k) => m.get(k) ?? null,
    key: (i) => [...m.keys()][i] ?? null,
    removeItem: (k) => void m.delete(k),
    setItem: (k, v) => void m.set(k, v),
  };
};

function withUser(user: Me | null, path = '/') {
  const storage = memory();
  const made = makeStore('http://api.invalid', storage);
  if (user) made.store.dispatch(signedIn({ session: { accessToken: 'a', refreshToken: 'r', expiresAt: Date.now() + 600_000 }, user }));
  return { ...made, storage, path };
}

describe('Layout navigation', () => {
  const renderNav = (role: Me['role']) => {
    const { store, client } = withUser({ id: '1', name: 'pat', role, kind: 'user' });
    render(
      <Provider store={store}>
        <ClientContext.Provider value={client}>
          <MemoryRouter initialEntries={['/crypto']}>
            <Routes>
              <Route element={<Layout />}>
                <Route path="/crypto" element={<p>crypto page</p>} />
              </Route>
            </Routes>
          </MemoryRouter>
        </ClientContext.Provider>
      </Provider>,
    );
  };

  it('shows the admin link to admins', () => {
    renderNav('admin');
    expect(screen.getByRole('link', { name: 'Admin' })).toBeInTheDocument();
    expect(screen.getByTestId('whoami')).toHaveTextContent('pat · admin');
  });

  it.each(['viewer', 'analyst', 'researcher'] as const)('hides every admin action from a %s', (role) => {
    renderNav(role);
    expect(screen.getByRole('link', { name: 'Crypto' })).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Admin' })).toBeNull();
    expect(screen.queryByText(/admin/i, { selector: 'a,button' })).toBeNull();
  });
});

describe('ErrorAlert', () => {
  it('shows API text as text, never as HTML', () => {
    const { container } = render(
      <ErrorAlert error={{ status: 400, data: { detail: '<img src=x onerror=alert(1)> bad', request_id: 'r9' } }} />,
    );
    expect(screen.getByRole('alert')).toHaveTextContent('<img src=x onerror=alert(1)> bad (request r9)');
    expect(container.querySelector('img')).toBeNull();
  });

  it('renders nothing without an error', () => {
    const { container } = render(<ErrorAlert error={undefined} />);
    expect(container).toBeEmptyDOMElement();
  });
});

describe('DataTable', () => {
  it('renders cells as text', () => {
    render(<DataTable label="t" rows={[{ a: '<b>x</b>', b: 1.23456789, c: null, d: { k: 1 } }]} />);
    expect(screen.getByText('<b>x</b>')).toBeInTheDocument();
    expect(screen.getByText('1.2346')).toBeInTheDocument();
    expect(screen.getByText('—')).toBeInTheDocument();
    expect(screen.getByText('{"k":1}')).toBeInTheDocument();
  });
});

describe('App routing', () => {
  it('sends a signed-out user to the login page and reports a wrong password', async () => {
    const { store, client } = withUser(null);
    const calls: string[] = [];
    Object.assign(client, {
      fetch: async (path: string) => {
        calls.push(path);
        return new Response(JSON.stringify({ detail: 'invalid username or password', request_id: 'x' }), { status: 401 });
      },
    });
    render(
      <Provider store={store}>
        <ClientContext.Provider value={client}>
          <MemoryRouter initialEntries={['/admin']}>
            <App />
          </MemoryRouter>
        </ClientContext.Provider>
      </Provider>,
    );
    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText(/Username/), 'admin');
    await userEvent.type(screen.getByLabelText(/Password/), 'wrong-password');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(screen.getByRole('alert')).toHaveTextContent('Wrong username or password'));
    expect(calls).toEqual(['/api/v1/auth/token']);
  });

  it('keeps the session across a reload (sessionStorage) and clears it on sign-out', () => {
    const { store, storage } = withUser({ id: '1', name: 'pat', role: 'viewer', kind: 'user' });
    expect(JSON.parse(storage.getItem('armillary.auth')!).user.name).toBe('pat');
    const again = makeStore('http://api.invalid', storage);
    expect(again.store.getState().auth.user?.role).toBe('viewer');
    store.dispatch({ type: 'auth/signedOut' });
    expect(storage.getItem('armillary.auth')).toBeNull();
  });
});

describe('parseCustomers', () => {
  it('reads the uplift layout from CSV', () => {
    const rows = parseCustomers('customer_id,recency,history,mens,womens,zip_code,newbie,channel\nc1,10,142.5,1,0,Urban,0,Web');
    expect(rows).toEqual([{ customer_id: 'c1', recency: 10, history: 142.5, mens: 1, womens: 0, zip_code: 'Urban', newbie: 0, channel: 'Web' }]);
  });

  it('names missing columns and bad numbers', () => {
    expect(() => parseCustomers('customer_id,recency\nc1,3')).toThrow(/Missing column\(s\): history/);
    expect(() => parseCustomers('customer_id,recency,history,mens,womens,zip_code,newbie,channel\nc1,x,1,1,0,Urban,0,Web')).toThrow(/recency is not a number/);
  });
});
