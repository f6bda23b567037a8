import { selectNotice, useAppSelector } from '@armillary/shared';
import { useState } from 'react';
import { KeyboardAvoidingView, Platform } from 'react-native';
import type { SignIn } from '../App';
import { Banner, Button, Card, Field, Muted, Screen, Title } from '../ui';

/** Username and password for the suite at `server` (editable: a phone needs the suite's LAN
 * address). The session it gets is refreshed by the shared session code and kept in the keychain. */
export function LoginScreen({ server, onSignIn }: { server: string; onSignIn: (s: SignIn) => Promise<string | null> }) {
  const notice = useAppSelector(selectNotice);
  const [url, setUrl] = useState(server);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const missing = !username || !password;

  const submit = async () => {
    if (missing || busy) return;
    setBusy(true);
    setError(null);
    const failure = await onSignIn({ server: url, username, password });
    setBusy(false);
    if (failure) setError(failure);
  };

  return (
    <KeyboardAvoidingView style={{ flex: 1 }} behavior={Platform.OS === 'ios' ? 'padding' : undefined}>
      <Screen testID="login-screen">
        <Title>Armillary</Title>
        <Muted>Sign in to continue</Muted>
        {notice && !error && <Banner tone="info">{notice}</Banner>}
        {error && (
          <Banner tone="error" testID="login-error">
            {error}
          </Banner>
        )}
        <Card title="Sign in">
          <Field label="Server" value={url} onChangeText={setUrl} autoCapitalize="none" autoCorrect={false} keyboardType="url" placeholder="same origin" />
          <Field label="Username" value={username} onChangeText={setUsername} autoCapitalize="none" autoCorrect={false} autoComplete="username" textContentType="username" />
          <Field label="Password" value={password} onChangeText={setPassword} secureTextEntry autoComplete="current-password" textContentType="password" onSubmitEditing={() => void submit()} />
          <Button title={busy ? 'Signing in…' : 'Sign in'} disabled={missing || busy} onPress={() => void submit()} />
        </Card>
      </Screen>
    </KeyboardAvoidingView>
  );
}
