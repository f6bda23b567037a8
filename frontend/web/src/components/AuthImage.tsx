import type { RootState } from '@armillary/shared';
import { errorMessage } from '@armillary/shared';
import { Box, Typography } from '@mui/material';
import { useEffect, useState, type ReactNode } from 'react';
import { useStore } from 'react-redux';
import { useClient } from '../clientContext';

/** An image behind the API's bearer auth: fetched, then shown from a blob: URL. Children
 * are drawn over it (positioned in percent of the image). */
export function AuthImage({ src, alt, children }: { src: string; alt: string; children?: ReactNode }) {
  const client = useClient();
  const store = useStore<RootState>();
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let href: string | null = null;
    let cancelled = false;
    (async () => {
      try {
        const token = await client.accessToken(store.getState, store.dispatch);
        const r = await client.fetch(src, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
        if (!r.ok) {
          let data: unknown;
          try {
            data = await r.json();
          } catch {
            data = undefined;
          }
          if (!cancelled) setError(errorMessage({ status: r.status, data }));
          return;
        }
        href = URL.createObjectURL(await r.blob());
        if (!cancelled) setUrl(href);
      } catch (err) {
        if (!cancelled) setError(errorMessage(err));
      }
    })();
    return () => {
      cancelled = true;
      if (href) URL.revokeObjectURL(href);
    };
  }, [src, client, store]);
  if (error) return <Typography color="error">{error}</Typography>;
  if (!url) return <Typography color="text.secondary">Loading image…</Typography>;
  return (
    <Box sx={{ position: 'relative', width: '100%', lineHeight: 0 }}>
      <img src={url} alt={alt} style={{ width: '100%', height: 'auto', display: 'block' }} />
      {children}
    </Box>
  );
}
