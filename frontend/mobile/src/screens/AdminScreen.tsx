import { epochText, errorMessage, useApiKeysQuery, useReadyQuery, useUsersQuery } from '@armillary/shared';
import { useRefresh } from '../useRefresh';
import { Banner, Body, Card, ListItem, Muted, Screen, Title } from '../ui';

/** Admins only (the tab is not shown to other roles): service health, users and API keys.
 * Creating users and keys stays in the web app (typing passwords and copying keys on a phone). */
export function AdminScreen() {
  const ready = useReadyQuery(undefined, { pollingInterval: 10_000, refetchOnReconnect: true });
  const users = useUsersQuery(undefined, { refetchOnReconnect: true });
  const keys = useApiKeysQuery(undefined, { refetchOnReconnect: true });
  const { refreshing, onRefresh } = useRefresh(ready.refetch, users.refetch, keys.refetch);
  return (
    <Screen testID="admin-screen" refreshing={refreshing} onRefresh={onRefresh}>
      <Title>Admin</Title>
      <Card title="Service health">
        {ready.error && <Banner tone="error">{errorMessage(ready.error)}</Banner>}
        {ready.data && (
          <>
            <Banner tone={ready.data.down.length ? 'warning' : 'success'} testID="health">
              {ready.data.down.length ? `Degraded: ${ready.data.down.join(', ')} down` : `All stores up (${ready.data.status})`}
            </Banner>
            {Object.entries(ready.data.stores).map(([name, state]) => (
              <Body key={name}>
                {name}: {state}
              </Body>
            ))}
          </>
        )}
      </Card>
      <Card title="Users">
        {users.error && <Banner tone="error">{errorMessage(users.error)}</Banner>}
        {users.data?.length === 0 && <Muted>No users</Muted>}
        {(users.data ?? []).map((u) => (
          <ListItem key={u.id} title={u.username} subtitle={`${u.role}${u.disabled ? ' · disabled' : ''}`} />
        ))}
      </Card>
      <Card title="API keys">
        {keys.error && <Banner tone="error">{errorMessage(keys.error)}</Banner>}
        {keys.data?.length === 0 && <Muted>No API keys</Muted>}
        {(keys.data ?? []).map((k) => (
          <ListItem key={k.id} title={k.name} subtitle={`${k.role}${k.revoked ? ' · revoked' : ''}${k.created_at ? ` · ${epochText(k.created_at) || String(k.created_at)}` : ''}`} />
        ))}
      </Card>
    </Screen>
  );
}
