// Tests: render a page for a signed-in user of `role`, with the store, the API client and a
// router, as the app does.
import { signedIn, type Role } from '@armillary/shared';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { Provider } from 'react-redux';
import { MemoryRouter } from 'react-router-dom';
import { ClientContext } from './clientContext';
import { makeStore } from './store';

export function renderSignedIn(page: ReactElement, role: Role) {
  const { store, client } = makeStore('http://api.invalid', undefined);
  store.dispatch(
    signedIn({
      session: { accessToken: 'a', refreshToken: 'r', expiresAt: Date.now() + 600_000 },
      user: { id: '1', name: 'ann', role, kind: 'user' },
    }),
  );
  return render(
    <Provider store={store}>
      <ClientContext.Provider value={client}>
        <MemoryRouter>{page}</MemoryRouter>
      </ClientContext.Provider>
    </Provider>,
  );
}
