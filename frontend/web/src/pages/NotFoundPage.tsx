import { Typography } from '@mui/material';

export function NotFoundPage() {
  return (
    <Typography variant="h5" component="h1" sx={{ mt: 4 }}>
      Page not found
    </Typography>
  );
}
