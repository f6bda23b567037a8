import { createTheme } from '@mui/material';

export const theme = createTheme({
  palette: { primary: { main: '#1f4e79' }, secondary: { main: '#b5651d' } },
  shape: { borderRadius: 6 },
});
