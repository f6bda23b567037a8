import { AppState, Platform } from 'react-native';
import type { AppDeps } from '../deps';
import { netInfoConnectivity } from './connectivity';
import { pickerImages } from './images';
import { secureStorage } from './secureStorage';

/** The real platform: keychain storage, NetInfo, the image picker, app focus from AppState. */
export function platformDeps(): AppDeps {
  const web = Platform.OS === 'web';
  return {
    storage: secureStorage,
    connectivity: netInfoConnectivity,
    images: pickerImages,
    // EXPO_PUBLIC_ARMILLARY_URL is inlined at bundle time; the web target defaults to its own origin.
    defaultServer: process.env.EXPO_PUBLIC_ARMILLARY_URL ?? (web ? '' : 'http://192.168.1.10:8000'),
    pageOrigin: web ? globalThis.location?.origin : undefined,
    onFocusChange: (listener) => {
      const sub = AppState.addEventListener('change', (s) => listener(s === 'active'));
      return () => sub.remove();
    },
  };
}
