import { errorMessage } from '@armillary/shared';
import { Alert } from '@mui/material';

/** An API error as a readable message (text only: never HTML from the server). */
export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const text = errorMessage(error);
  return (
    <Alert severity="error" role="alert" sx={{ my: 1, wordBreak: 'break-word' }}>
      {title ? `${title}: ${text}` : text}
    </Alert>
  );
}
