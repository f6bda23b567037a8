import { errorMessage } from '@armillary/shared';
import { Box, Typography } from '@mui/material';
import { useEffect, useState, type ReactNode } from 'react';
import { useFetchBlob } from '../useFetchBlob';

/** An image behind the API's bearer auth: fetched, then shown from a blob: URL. Children
 * are drawn over it (positioned in percent of the image). */
export function AuthImage({ src, alt, children }: { src: string; alt: string; children?: ReactNode }) {
  const fetchBlob = useFetchBlob();
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let href: string | null = null;
    let cancelled = false;
    fetchBlob(src).then(
      (blob) => {
        href = URL.createObjectURL(blob);
        if (!cancelled) setUrl(href);
      },
      (err: unknown) => {
        if (!cancelled) setError(errorMessage(err));
      },
    );
    return () => {
      cancelled = true;
      if (href) URL.revokeObjectURL(href);
    };
  }, [src, fetchBlob]);
  if (error) return <Typography color="error">{error}</Typography>;
  if (!url) return <Typography color="text.secondary">Loading image…</Typography>;
  return (
    <Box sx={{ position: 'relative', width: '100%', lineHeight: 0 }}>
      <img src={url} alt={alt} style={{ width: '100%', height: 'auto', display: 'block' }} />
      {children}
    </Box>
  );
}
