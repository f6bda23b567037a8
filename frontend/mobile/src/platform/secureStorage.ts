import * as SecureStore from 'expo-secure-store';
import type { SecureStorage } from '../deps';

/** The iOS Keychain / Android Keystore through expo-secure-store (not AsyncStorage: the
 * refresh token is a long-lived credential). Readable only after the first unlock. */
export const secureStorage: SecureStorage = {
  get: (key) => SecureStore.getItemAsync(key),
  set: (key, value) => SecureStore.setItemAsync(key, value, { keychainAccessible: SecureStore.AFTER_FIRST_UNLOCK }),
  remove: (key) => SecureStore.deleteItemAsync(key),
};
