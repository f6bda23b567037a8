import {
  ROLES,

  selectUser,
  useApiKeysQuery,
  useAuditQuery,
  useChangeUserMutation,
  useCreateApiKeyMutation,
  useCreateUserMutation,
  useReadyQuery,
  useRevokeApiKeyMutation,
  useUsersQuery,
  type Role,
} from '@armillary/shared';
import {
  Alert,
  Box,
  Button,
  Chip,
  MenuItem,
  Stack,
  Tab,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  Tabs,
  TextField,
  Typography,
} from '@mui/material';
import { useState, type FormEvent } from 'react';
import { DataTable } from '../components/DataTable';
import { ErrorAlert } from '../components/ErrorAlert';
import { Section } from '../components/Section';
import { useAppSelector } from '../store';

const when = (t: unknown) => (typeof t === 'number' ? new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 19) : String(t ?? '—'));

function RoleSelect({ value, onChange, label = 'Role' }: { value: Role; onChange: (r: Role) => void; label?: string }) {
  return (
    <TextField select size="small" label={label} value={value} onChange={(e) => onChange(e.target.value as Role)} sx={{ minWidth: 130 }}>
      {ROLES.map((r) => (
        <MenuItem key={r} value={r}>
          {r}
        </MenuItem>
      ))}
    </TextField>
  );
}

function Users() {
  const me = useAppSelector(selectUser);
  const users = useUsersQuery();
  const [create, created] = useCreateUserMutation();
  const [change, changed] = useChangeUserMutation();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [done, setDone] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    const r = await create({ username, password, role });
    if ('data' in r && r.data) {
      setDone(`Created ${r.data.username} (${r.data.role})`);
      setUsername('');
      setPassword('');
    }
  };

  return (
    <>
      <Section title="New user">
        <Stack component="form" aria-label="new user" direction={{ xs: 'column', sm: 'row' }} spacing={1} onSubmit={submit}>
          <TextField size="small" label="Username" value={username} onChange={(e) => setUsername(e.target.value)} required />
          <TextField size="small" label="Password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
          <RoleSelect value={role} onChange={setRole} />
          <Button type="submit" variant="contained" disabled={created.isLoading}>
            Create user
          </Button>
        </Stack>
        <ErrorAlert error={created.error} />
        {done && <Alert severity="success" sx={{ mt: 1 }}>{done}</Alert>}
      </Section>
      <Section title="Users">
        <ErrorAlert error={users.error} />
        <ErrorAlert error={changed.error} />
        <TableContainer sx={{ overflowX: 'auto' }}>
          <Table size="small" aria-label="users">
            <TableHead>
              <TableRow>
                <TableCell>Username</TableCell>
                <TableCell>Role</TableCell>
                <TableCell>Status</TableCell>
                <TableCell>Created</TableCell>
                <TableCell />
              </TableRow>
            </TableHead>
            <TableBody>
              {(users.data ?? []).map((u) => (
                <TableRow key={u.id} data-testid={`user-${u.username}`}>
                  <TableCell>{u.username}</TableCell>
                  <TableCell>
                    <RoleSelect
                      label=""
                      value={u.role}
                      onChange={(r) => void change({ id: u.id, role: r })}
                    />
                  </TableCell>
                  <TableCell>{u.disabled ? <Chip size="small" label="disabled" color="warning" /> : 'active'}</TableCell>
                  <TableCell>{when(u.created_at)}</TableCell>
                  <TableCell>
                    {u.id !== me?.id && (
                      <Button size="small" onClick={() => void change({ id: u.id, disabled: !u.disabled })}>
                        {u.disabled ? 'Enable' : 'Disable'}
                      </Button>
                    )}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      </Section>
    </>
  );
}

function ApiKeys() {
  const keys = useApiKeysQuery();
  const [create, created] = useCreateApiKeyMutation();
  const [revoke, revoked] = useRevokeApiKeyMutation();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [shown, setShown] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await create({ name, role });
    if ('data' in r && r.data) {
      setShown(r.data.key);
      setName('');
    }
  };
  return (
    <>
      <Section title="New API key">
        <Stack component="form" aria-label="new api key" direction={{ xs: 'column', sm: 'row' }} spacing={1} onSubmit={submit}>
          <TextField size="small" label="Name" value={name} onChange={(e) => setName(e.target.value)} required />
          <RoleSelect value={role} onChange={setRole} />
          <Button type="submit" variant="contained" disabled={created.isLoading}>
            Create key
          </Button>
        </Stack>
        <ErrorAlert error={created.error} />
        {shown && (
          <Alert severity="warning" sx={{ mt: 1, wordBreak: 'break-all' }} onClose={() => setShown(null)}>
            Store this key now; it is not shown again: <code data-testid="new-api-key">{shown}</code>
          </Alert>
        )}
      </Section>
      <Section title="API keys">
        <ErrorAlert error={keys.error ?? revoked.error} />
        <TableContainer sx={{ overflowX: 'auto' }}>
          <Table size="small" aria-label="api keys">
            <TableHead>
              <TableRow>
                <TableCell>Name</TableCell>
                <TableCell>Role</TableCell>
                <TableCell>Created</TableCell>
                <TableCell>Last used</TableCell>
                <TableCell />
              </TableRow>
            </TableHead>
            <TableBody>
              {(keys.data ?? []).map((k) => (
                <TableRow key={k.id}>
                  <TableCell>{k.name}</TableCell>
                  <TableCell>{k.role}</TableCell>
                  <TableCell>{when(k.created_at)}</TableCell>
                  <TableCell>{k.last_used_at ? when(k.last_used_at) : 'never'}</TableCell>
                  <TableCell>
                    {k.revoked ? (
                      <Chip size="small" label="revoked" />
                    ) : (
                      <Button size="small" color="error" onClick={() => void revoke(k.id)}>
                        Revoke
                      </Button>
                    )}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      </Section>
    </>
  );
}

function Audit() {
  const [actor, setActor] = useState('');
  const [filter, setFilter] = useState('');
  const audit = useAuditQuery({ limit: 100, actor: filter || undefined });
  const rows = (audit.data ?? []).map((e) => ({ ...e, at: when(e.at) }));
  return (
    <Section title="Audit log">
      <Stack
        component="form"
        direction="row"
        spacing={1}
        sx={{ mb: 1 }}
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(actor.trim());
        }}
      >
        <TextField size="small" label="Actor" value={actor} onChange={(e) => setActor(e.target.value)} />
        <Button type="submit">Filter</Button>
        <Button onClick={() => void audit.refetch()}>Refresh</Button>
      </Stack>
      <ErrorAlert error={audit.error} />
      <DataTable
        label="audit log"
        rows={rows}
        columns={['at', 'actor', 'method', 'path', 'status', 'outcome', 'request_id']}
        empty="No audit entries"
      />
    </Section>
  );
}

function Health() {
  const ready = useReadyQuery(undefined, { pollingInterval: 10_000 });
  const data = ready.data;
  return (
    <Section title="Store health" action={<Button onClick={() => void ready.refetch()}>Check now</Button>}>
      <ErrorAlert error={ready.error} />
      {data && (
        <>
          <Alert severity={data.down.length ? 'warning' : 'success'} sx={{ mb: 1 }} data-testid="ready-status">
            {data.down.length ? `Degraded: ${data.down.join(', ')} down` : 'All stores ready'}
          </Alert>
          <Box sx={{ display: 'flex', gap: 1, flexWrap: 'wrap' }}>
            {Object.entries(data.stores).map(([kind, state]) => (
              <Chip key={kind} label={state === 'ok' ? `${kind}: ok` : `${kind}: ${state}`} color={state === 'ok' ? 'success' : 'error'} variant="outlined" />
            ))}
          </Box>
        </>
      )}
    </Section>
  );
}

const TABS = ['Users', 'API keys', 'Audit log', 'Health'] as const;

/** Shown to a non-admin who opens /admin directly: the server's own answer (403). */
function NotAllowed() {
  const users = useUsersQuery();
  return (
    <Section title="Administration">
      {users.isLoading && <Typography color="text.secondary">Checking…</Typography>}
      <ErrorAlert error={users.error} />
      {users.data && <Typography>Reload the page to open the administration.</Typography>}
    </Section>
  );
}

export function AdminPage() {
  const me = useAppSelector(selectUser);
  const [tab, setTab] = useState(0);
  if (me?.role !== 'admin') return <NotAllowed />;
  return (
    <>
      <Typography variant="h5" component="h1" gutterBottom>
        Administration
      </Typography>
      <Tabs value={tab} onChange={(_, v: number) => setTab(v)} variant="scrollable" allowScrollButtonsMobile sx={{ mb: 2 }}>
        {TABS.map((t) => (
          <Tab key={t} label={t} />
        ))}
      </Tabs>
      {tab === 0 && <Users />}
      {tab === 1 && <ApiKeys />}
      {tab === 2 && <Audit />}
      {tab === 3 && <Health />}
    </>
  );
}
