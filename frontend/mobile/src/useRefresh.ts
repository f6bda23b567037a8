import { useState } from 'react';

/** Pull to refresh: `refreshing` while all `refetchers` run (failures show in their queries). */
export function useRefresh(...refetchers: (() => unknown)[]) {
  const [refreshing, setRefreshing] = useState(false);
  const onRefresh = () => {
    setRefreshing(true);
    void Promise.allSettled(refetchers.map((r) => r())).then(() => setRefreshing(false));
  };
  return { refreshing, onRefresh };
}
