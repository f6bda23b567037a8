import { combineReducers, configureStore } from '@reduxjs/toolkit';
import { armillaryApi } from './api/api';
import { authSlice, type AuthState } from './auth/authSlice';
import { Client, type ClientConfig } from './auth/client';
import { liveSlice } from './live/liveSlice';

export const rootReducer = combineReducers({
  auth: authSlice.reducer,
  live: liveSlice.reducer,
  [armillaryApi.reducerPath]: armillaryApi.reducer,
});

export type RootState = ReturnType<typeof rootReducer>;

/** The app's store; the same for web and (later) React Native: only the client config and
 * where the session is persisted differ. */
export function createAppStore(config: ClientConfig, preloaded?: { auth?: AuthState }) {
  const client = new Client(config);
  const store = configureStore({
    reducer: rootReducer,
    preloadedState: preloaded as Partial<RootState> | undefined,
    middleware: (getDefault) =>
      getDefault({ thunk: { extraArgument: { client } } }).concat(armillaryApi.middleware),
  });
  return { store, client };
}

export type AppStore = ReturnType<typeof createAppStore>['store'];
export type AppDispatch = AppStore['dispatch'];
