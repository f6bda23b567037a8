import type { RootState } from '@armillary/shared';
import { errorMessage } from '@armillary/shared';
import { useCallback } from 'react';
import { useStore } from 'react-redux';
import { useClient } from './clientContext';

/** Fetch a file behind the API's bearer auth (page images, report downloads). A failed
 * answer rejects with an Error carrying the API's readable message. */
export function useFetchBlob(): (url: string) => Promise<Blob> {
  const client = useClient();
  const store = useStore<RootState>();
  return useCallback(
    async (url: string) => {
      const token = await client.accessToken(store.getState, store.dispatch);
      const r = await client.fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
      if (!r.ok) {
        let data: unknown;
        try {
          data = await r.json();
        } catch {
          data = undefined;
        }
        throw new Error(errorMessage({ status: r.status, data }));
      }
      return r.blob();
    },
    [client, store],
  );
}
