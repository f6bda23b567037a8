import type { Client } from '@armillary/shared';
import { createContext, useContext } from 'react';

export const ClientContext = createContext<Client | null>(null);

export function useClient(): Client {
  const client = useContext(ClientContext);
  if (!client) throw new Error('ClientContext missing');
  return client;
}
