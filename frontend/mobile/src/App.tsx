import { ClientContext, armillaryApi, login } from '@armillary/shared';
import { setupListeners } from '@reduxjs/toolkit/query';
import { StatusBar } from 'expo-status-bar';
import { useCallback, useEffect, useState } from 'react';
import { ActivityIndicator, View } from 'react-native';
import { Provider } from 'react-redux';
import { SafeAreaProvider, initialWindowMetrics } from 'react-native-safe-area-context';
import { DepsContext, OnlineContext } from './context';
import type { AppDeps } from './deps';
import { loadBoot, makeMobileStore, SERVER_KEY, type MobileStore } from './session';
import { Shell } from './Shell';
import { ThemeProvider, useTheme } from './theme';

// Until the native side reports the insets (and in tests): a phone-sized frame without insets.
const PHONE = { frame: { x: 0, y: 0, width: 390, height: 844 }, insets: { top: 0, left: 0, right: 0, bottom: 0 } };

export interface SignIn {
  server: string;
  username: string;
  password: string;
}

/** Loads the kept session from secure storage, then runs the app on a store for its server.
 * Signing in to another server makes a new store (the client's base URL is fixed per store). */
export function App({ deps, scheme }: { deps: AppDeps; scheme?: 'light' | 'dark' }) {
  return (
    <SafeAreaProvider initialMetrics={initialWindowMetrics ?? PHONE}>
      <ThemeProvider scheme={scheme}>
        <DepsContext.Provider value={deps}>
          <Root deps={deps} />
        </DepsContext.Provider>
      </ThemeProvider>
    </SafeAreaProvider>
  );
}

function Root({ deps }: { deps: AppDeps }) {
  const t = useTheme();
  const [app, setApp] = useState<MobileStore | null>(null);
  const [online, setOnline] = useState(true);

  useEffect(() => {
    let live = true;
    void loadBoot(deps.storage, deps.defaultServer).then((boot) => {
      if (live) setApp(makeMobileStore(boot.server, deps.storage, boot.auth, deps.fetchFn));
    });
    return () => {
      live = false;
    };
  }, [deps]);

  // A store going away (app closed, other server): stop persisting, polling and cache timers.
  useEffect(
    () => () => {
      app?.unsubscribe();
      app?.store.dispatch(armillaryApi.util.resetApiState());
    },
    [app],
  );

  // Connectivity for the banner, and RTK Query's refetch on reconnect / on return to the app.
  useEffect(() => deps.connectivity.subscribe(setOnline), [deps]);
  useEffect(() => {
    if (!app) return;
    return setupListeners(app.store.dispatch, (dispatch, actions) => {
      const offNet = deps.connectivity.subscribe((up) => dispatch(up ? actions.onOnline() : actions.onOffline()));
      const offFocus = deps.onFocusChange?.((focused) => dispatch(focused ? actions.onFocus() : actions.onFocusLost()));
      return () => {
        offNet();
        offFocus?.();
      };
    });
  }, [app, deps]);

  const signIn = useCallback(
    async ({ server, username, password }: SignIn): Promise<string | null> => {
      if (!app) return 'Starting…';
      const target = server.trim() === app.server ? app : makeMobileStore(server.trim(), deps.storage, undefined, deps.fetchFn);
      const result = await target.store.dispatch(login({ username, password }));
      if (login.rejected.match(result)) {
        if (target !== app) target.unsubscribe();
        return result.payload ?? 'Sign-in failed';
      }
      if (target !== app) {
        await deps.storage.set(SERVER_KEY, target.server).catch(() => undefined);
        setApp(target);
      }
      return null;
    },
    [app, deps],
  );

  if (!app) {
    return (
      <View style={{ flex: 1, alignItems: 'center', justifyContent: 'center', backgroundColor: t.background }}>
        <ActivityIndicator accessibilityLabel="Loading" color={t.primary} />
      </View>
    );
  }
  return (
    <Provider store={app.store}>
      <ClientContext.Provider value={app.client}>
        <OnlineContext.Provider value={online}>
          <StatusBar style={t.scheme === 'dark' ? 'light' : 'dark'} />
          <Shell server={app.server} onSignIn={signIn} />
        </OnlineContext.Provider>
      </ClientContext.Provider>
    </Provider>
  );
}
