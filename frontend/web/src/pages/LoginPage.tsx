import { login, selectNotice, selectSession } from '@armillary/shared';
import { Alert, Box, Button, Paper, TextField, Typography } from '@mui/material';
import { useState, type FormEvent } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { useAppDispatch, useAppSelector } from '../store';

export function LoginPage() {
  const dispatch = useAppDispatch();
  const session = useAppSelector(selectSession);
  const notice = useAppSelector(selectNotice);
  const location = useLocation();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (session) {
    const from = (location.state as { from?: string } | null)?.from;
    return <Navigate to={from && from !== '/login' ? from : '/'} replace />;
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const result = await dispatch(login({ username, password }));
    setBusy(false);
    if (login.rejected.match(result)) setError(result.payload ?? 'Sign-in failed');
  };

  return (
    <Box sx={{ minHeight: '100vh', display: 'grid', placeItems: 'center', bgcolor: 'grey.100', p: 2 }}>
      <Paper component="form" onSubmit={submit} sx={{ p: 3, width: '100%', maxWidth: 380 }} aria-label="sign in">
        <Typography variant="h5" component="h1" gutterBottom>
          Armillary
        </Typography>
        <Typography color="text.secondary" gutterBottom>
          Sign in to continue
        </Typography>
        {notice && !error && <Alert severity="info" sx={{ my: 1 }}>{notice}</Alert>}
        {error && (
          <Alert severity="error" role="alert" sx={{ my: 1 }}>
            {error}
          </Alert>
        )}
        <TextField
          label="Username"
          name="username"
          autoComplete="username"
          fullWidth
          margin="normal"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          required
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          fullWidth
          margin="normal"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
        <Button type="submit" variant="contained" fullWidth sx={{ mt: 2 }} disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </Button>
      </Paper>
    </Box>
  );
}
