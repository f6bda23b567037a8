import type { SecureStorage } from '../deps';

/** The web target has no keychain: the tab's sessionStorage, as in the web app (gone with the tab). */
export const secureStorage: SecureStorage = {
  get: async (key) => globalThis.sessionStorage?.getItem(key) ?? null,
  set: async (key, value) => globalThis.sessionStorage?.setItem(key, value),
  remove: async (key) => globalThis.sessionStorage?.removeItem(key),
};
