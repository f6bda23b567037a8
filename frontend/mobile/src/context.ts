import { createContext, useContext } from 'react';
import type { AppDeps } from './deps';

export const DepsContext = createContext<AppDeps | null>(null);

export function useDeps(): AppDeps {
  const deps = useContext(DepsContext);
  if (!deps) throw new Error('DepsContext missing');
  return deps;
}

/** Whether the device is online (NetInfo); screens show cached data and a banner when not. */
export const OnlineContext = createContext<boolean>(true);
export const useOnline = (): boolean => useContext(OnlineContext);
