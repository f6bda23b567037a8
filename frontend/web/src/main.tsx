import { CssBaseline, ThemeProvider } from '@mui/material';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Provider } from 'react-redux';
import { BrowserRouter } from 'react-router-dom';
import { App } from './App';
import { ClientContext } from './clientContext';
import { makeStore } from './store';
import { theme } from './theme';

const { store, client } = makeStore('');

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Provider store={store}>
      <ClientContext.Provider value={client}>
        <ThemeProvider theme={theme}>
          <CssBaseline />
          <BrowserRouter>
            <App />
          </BrowserRouter>
        </ThemeProvider>
      </ClientContext.Provider>
    </Provider>
  </StrictMode>,
);
