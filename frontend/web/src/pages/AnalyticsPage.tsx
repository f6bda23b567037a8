import {
  armillaryApi,
  can,
  cellText,
  errorMessage,
  fieldRows,
  selectRole,
  useAllocationMutation,
  useCreateReportMutation,
  useCustomerLookup,
  useImportSampleMutation,
  useImportTransactionsMutation,
  useJobPolling,
  useReportsQuery,
  useSegmentsQuery,
  useTargetingMutation,
  type JobStarted,
  type UpliftCustomer,
} from '@armillary/shared';
import { Alert, Box, Button, Grid, LinearProgress, Link, Stack, TextField, Typography } from '@mui/material';
import { useEffect, useState, type FormEvent } from 'react';
import { BarChart } from '../components/BarChart';
import { DataTable } from '../components/DataTable';
import { ErrorAlert } from '../components/ErrorAlert';
import { Section } from '../components/Section';
import { useFetchBlob } from '../useFetchBlob';
import { useAppSelector } from '../store';

type Row = Record<string, unknown>;

/** Training on one dataset (an import's dataset_id, or 'reference'): a job. */
const trainingApi = armillaryApi.injectEndpoints({
  endpoints: (b) => ({
    startTraining: b.mutation<JobStarted, { dataset_id?: string; quick?: boolean }>({
      query: (body) => ({ url: '/api/v1/analytics/training', method: 'POST', body }),
    }),
  }),
});
const { useStartTrainingMutation } = trainingApi;

/** The dataset a "no model yet: train on ..." answer (HTTP 409) names, or null when the
 * error is not that state. The API's message names the action with the dataset id:
 * `POST /api/v1/analytics/training with {"dataset_id": "X"}`. */
export function untrainedDataset(error: unknown): string | null {
  if (!error || typeof error !== 'object' || (error as { status?: unknown }).status !== 409) return null;
  const text = errorMessage(error);
  if (!text.includes('/api/v1/analytics/training')) return null;
  const m = /"dataset_id": "([A-Za-z_][A-Za-z0-9_]*)"/.exec(text);
  return m ? m[1] : null;
}

/** Wherever an answer says "train on this dataset": the button that starts the training
 * job for that dataset, then its progress; `onTrained` runs when it succeeded. */
export function TrainAction({ error, dataset: given, onTrained }: { error?: unknown; dataset?: string; onTrained?: () => void }) {
  const dataset = given ?? untrainedDataset(error);
  const [train, started] = useStartTrainingMutation();
  const [jobId, setJobId] = useState<string | null>(null);
  if (!dataset && !jobId) return null;
  return (
    <Box sx={{ my: 1 }} data-testid="train-action">
      {dataset && !jobId && (
        <Button
          variant="contained"
          size="small"
          disabled={started.isLoading}
          onClick={async () => {
            const r = await train({ dataset_id: dataset });
            if ('data' in r && r.data) setJobId(r.data.job_id);
          }}
        >
          {dataset === 'reference' ? 'Train on the reference data' : 'Train on this dataset'}
        </Button>
      )}
      {dataset && !jobId && (
        <Typography variant="caption" sx={{ ml: 1 }}>
          dataset {dataset}
        </Typography>
      )}
      <ErrorAlert error={started.error} />
      {jobId && <JobProgress key={jobId} id={jobId} onDone={(ok) => ok && onTrained?.()} />}
    </Box>
  );
}

/** Poll a job until it has finished; shows its progress. */
export function JobProgress({ id, onDone }: { id: string; onDone?: (ok: boolean) => void }) {
  const { job, view: v } = useJobPolling(id, onDone);
  const { status, finished: done } = v;
  const d = job.data;
  const value = v.fraction === null ? undefined : v.fraction * 100;
  return (
    <Box sx={{ my: 1 }} data-testid="job-progress">
      <Typography variant="body2">
        Job {id.slice(0, 8)}: <b data-testid="job-status">{status}</b>
        {v.total ? ` (${v.progress})` : ''}
      </Typography>
      {!done && <LinearProgress variant={value === undefined ? 'indeterminate' : 'determinate'} value={value} />}
      {status === 'failed' && <Alert severity="error">{String(d?.error ?? 'failed')}</Alert>}
      <ErrorAlert error={job.error} />
    </Box>
  );
}

function Upload({ onImported }: { onImported: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [table, setTable] = useState('transactions');
  const [start, started] = useImportTransactionsMutation();
  const [jobId, setJobId] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    const body = new FormData();
    body.append('file', file);
    body.append('table', table);
    setJobId(null);
    const r = await start(body);
    if ('data' in r && r.data) setJobId(r.data.job_id);
  };
  return (
    <Section title="Upload transactions">
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        CSV or Parquet with invoice, date, customer and amount columns (e.g. InvoiceNo, InvoiceDate, CustomerID, TotalPrice).
      </Typography>
      <Stack component="form" aria-label="upload transactions" direction={{ xs: 'column', sm: 'row' }} spacing={1} onSubmit={submit} sx={{ alignItems: { sm: 'center' } }}>
        <Button variant="outlined" component="label">
          {file ? file.name : 'Choose file'}
          <input hidden type="file" name="file" accept=".csv,.tsv,.txt,.parquet,.pq" onChange={(e) => setFile(e.target.files?.[0] ?? null)} data-testid="transactions-file" />
        </Button>
        <TextField size="small" label="Table" value={table} onChange={(e) => setTable(e.target.value)} />
        <Button type="submit" variant="contained" disabled={!file || started.isLoading}>
          Import
        </Button>
      </Stack>
      <ErrorAlert error={started.error} />
      {jobId && <JobProgress key={jobId} id={jobId} onDone={(ok) => ok && onImported()} />}
    </Section>
  );
}

/** "No data at hand": imports the sample transactions (real Online Retail where the suite
 * has the shared data, else synthetic, and says which), then offers training on them. */
export function SampleData({ onImported, onStarted }: { onImported: () => void; onStarted?: () => void }) {
  const [start, started] = useImportSampleMutation();
  const [ready, setReady] = useState(false);
  const sample = started.data;
  return (
    <Box sx={{ mt: 1 }} data-testid="sample-data">
      {!sample && (
        <Button
          variant="contained"
          size="small"
          disabled={started.isLoading}
          onClick={() => {
            onStarted?.();
            void start();
          }}
        >
          Load sample data
        </Button>
      )}
      <ErrorAlert error={started.error} />
      {sample && (
        <>
          <Typography variant="body2" data-testid="sample-source">
            Sample data: {sample.source}, imported into dataset <b>{sample.dataset_id}</b>.
          </Typography>
          {sample.synthetic && (
            <Alert severity="warning" sx={{ my: 1 }}>
              Synthetic data: made-up customers for trying the page, not real results. Upload your own transactions above for real ones.
            </Alert>
          )}
          <JobProgress
            id={sample.job_id}
            onDone={(ok) => {
              if (!ok) return;
              setReady(true);
              onImported();
            }}
          />
          {ready && <TrainAction dataset={sample.dataset_id} />}
        </>
      )}
    </Box>
  );
}

function Segments({ refresh, analyst, onImported }: { refresh: number; analyst: boolean; onImported: () => void }) {
  const seg = useSegmentsQuery({});
  const { refetch } = seg;
  // the sample panel stays once started (its progress, then "Train on this dataset")
  const [sampling, setSampling] = useState(false);
  const empty = (seg.error as { status?: unknown } | undefined)?.status === 404;
  useEffect(() => {
    if (refresh > 0) void refetch();
  }, [refresh, refetch]);
  const data = seg.data as { dataset_id?: string; customers?: number; as_of?: string; kmeans?: { k: number; silhouette: number }; segments?: Row[]; clusters?: Row[] } | undefined;
  const rows = data?.segments ?? [];
  return (
    <Section title="Segment overview" action={<Button onClick={() => void refetch()}>Refresh</Button>}>
      {seg.error && (
        <Alert severity="info" role="status">
          {errorMessage(seg.error)}
          {analyst && empty && (
            <>
              {' '}
              Upload your transactions above, or try the page with sample data:
            </>
          )}
        </Alert>
      )}
      {analyst && (empty || sampling) && <SampleData onStarted={() => setSampling(true)} onImported={onImported} />}
      {data && (
        <>
          <Typography variant="body2" sx={{ mb: 1 }} data-testid="segment-summary">
            Dataset {data.dataset_id}: {data.customers} customers as of {data.as_of}; KMeans k = {data.kmeans?.k} (silhouette {cellText(data.kmeans?.silhouette)})
          </Typography>
          <Grid container spacing={2}>
            <Grid size={{ xs: 12, md: 6 }}>
              <Typography variant="subtitle2">Customers per RFM segment</Typography>
              <BarChart label="customers per segment" data={rows.map((r) => ({ label: String(r.segment), value: Number(r.customers) }))} />
            </Grid>
            <Grid size={{ xs: 12, md: 6 }}>
              <Typography variant="subtitle2">Revenue per RFM segment</Typography>
              <BarChart
                label="revenue per segment"
                color="#b5651d"
                data={rows.map((r) => ({ label: String(r.segment), value: Number(r.total_monetary) }))}
                format={(v) => v.toLocaleString(undefined, { maximumFractionDigits: 0 })}
              />
            </Grid>
          </Grid>
          <Box sx={{ mt: 2 }}>
            <DataTable label="segments" rows={rows} columns={['segment', 'customers', 'share', 'recency_days', 'frequency', 'monetary', 'total_monetary']} />
          </Box>
          <Typography variant="subtitle2" sx={{ mt: 2 }}>
            KMeans clusters
          </Typography>
          <DataTable label="clusters" rows={data.clusters ?? []} columns={['cluster', 'customers', 'share', 'recency_days', 'frequency', 'monetary']} />
        </>
      )}
    </Section>
  );
}

function CustomerLookup() {
  const [id, setId] = useState('');
  const { lookup, segment: seg, clv: clvResult } = useCustomerLookup();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    lookup(id);
  };
  return (
    <Section title="Customer lookup">
      <Stack component="form" direction="row" spacing={1} onSubmit={submit} aria-label="customer lookup">
        <TextField size="small" label="Customer id" value={id} onChange={(e) => setId(e.target.value)} />
        <Button type="submit" variant="contained">
          Look up
        </Button>
      </Stack>
      <Grid container spacing={2} sx={{ mt: 1 }}>
        <Grid size={{ xs: 12, md: 6 }}>
          <Typography variant="subtitle2">Segment</Typography>
          <ErrorAlert error={seg.error} />
          {seg.data && <DataTable label="customer segment" rows={fieldRows(seg.data)} />}
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          <Typography variant="subtitle2">Lifetime value</Typography>
          <ErrorAlert error={clvResult.error} />
          <TrainAction key={`clv-${errorMessage(clvResult.error)}`} error={clvResult.error} onTrained={() => lookup(id)} />
          {clvResult.data && <DataTable label="customer clv" rows={fieldRows(clvResult.data)} />}
        </Grid>
      </Grid>
    </Section>
  );
}

const SAMPLE_CUSTOMERS = `customer_id,recency,history,mens,womens,zip_code,newbie,channel
c1,10,142.44,1,0,Surburban,0,Phone
c2,6,329.08,1,1,Rural,1,Web
c3,7,180.65,0,1,Surburban,1,Web
c4,2,45.34,1,0,Urban,0,Web`;

/** Customers for the uplift model from CSV text (header row + one row per customer). */
export function parseCustomers(text: string): UpliftCustomer[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.length < 2) throw new Error('Give a header row and at least one customer');
  const head = lines[0].split(',').map((h) => h.trim());
  const need = ['customer_id', 'recency', 'history', 'mens', 'womens', 'zip_code', 'newbie', 'channel'];
  const missing = need.filter((n) => !head.includes(n));
  if (missing.length) throw new Error(`Missing column(s): ${missing.join(', ')}`);
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',').map((c) => c.trim());
    const get = (n: string) => cells[head.indexOf(n)] ?? '';
    const int = (n: string) => {
      const v = Number(get(n));
      if (!Number.isFinite(v)) throw new Error(`Row ${i + 1}: ${n} is not a number`);
      return v;
    };
    return {
      customer_id: get('customer_id'),
      recency: int('recency'),
      history: int('history'),
      mens: int('mens') ? 1 : 0,
      womens: int('womens') ? 1 : 0,
      zip_code: get('zip_code') as UpliftCustomer['zip_code'],
      newbie: int('newbie') ? 1 : 0,
      channel: get('channel') as UpliftCustomer['channel'],
    };
  });
}

function Targeting() {
  const [text, setText] = useState(SAMPLE_CUSTOMERS);
  const [budget, setBudget] = useState('2');
  const [cost, setCost] = useState('1');
  const [parseError, setParseError] = useState<string | null>(null);
  const [target, result] = useTargetingMutation();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setParseError(null);
    try {
      void target({ customers: parseCustomers(text), budget: Number(budget), cost_per_contact: Number(cost) });
    } catch (err) {
      setParseError(err instanceof Error ? err.message : String(err));
    }
  };
  const data = result.data as { contacts?: number; spent?: number; targets?: Row[] } | undefined;
  return (
    <Section title="Uplift targeting">
      <Box component="form" onSubmit={submit} aria-label="uplift targeting">
        <TextField label="Customers (CSV)" multiline minRows={4} fullWidth value={text} onChange={(e) => setText(e.target.value)} slotProps={{ htmlInput: { style: { fontFamily: 'monospace', fontSize: 13 } } }} />
        <Stack direction="row" spacing={1} sx={{ mt: 1 }}>
          <TextField size="small" label="Budget" type="number" value={budget} onChange={(e) => setBudget(e.target.value)} />
          <TextField size="small" label="Cost per contact" type="number" value={cost} onChange={(e) => setCost(e.target.value)} />
          <Button type="submit" variant="contained" disabled={result.isLoading}>
            Target
          </Button>
        </Stack>
      </Box>
      {parseError && <Alert severity="error">{parseError}</Alert>}
      <ErrorAlert error={result.error} />
      <TrainAction key={`uplift-${errorMessage(result.error)}`} error={result.error} />
      {data && (
        <>
          <Typography sx={{ mt: 1 }}>
            Contact {data.contacts} customers for {cellText(data.spent)}
          </Typography>
          <DataTable label="targets" rows={data.targets ?? []} />
        </>
      )}
    </Section>
  );
}

function Allocation() {
  const [total, setTotal] = useState('');
  const [allocate, result] = useAllocationMutation();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void allocate(total ? { total: Number(total) } : {});
  };
  const data = result.data as { allocation?: Record<string, number>; current?: Record<string, number>; improvement?: unknown } | undefined;
  const split = data?.allocation ?? {};
  return (
    <Section title="Budget allocation">
      <Stack component="form" direction="row" spacing={1} onSubmit={submit} aria-label="budget allocation">
        <TextField size="small" label="Weekly total (empty: current)" type="number" value={total} onChange={(e) => setTotal(e.target.value)} />
        <Button type="submit" variant="contained" disabled={result.isLoading}>
          Allocate
        </Button>
      </Stack>
      <ErrorAlert error={result.error} />
      <TrainAction key={`mmm-${errorMessage(result.error)}`} error={result.error} />
      {data && (
        <Box sx={{ mt: 1 }}>
          {Object.keys(split).length > 0 && <BarChart label="budget per channel" data={Object.entries(split).map(([k, v]) => ({ label: k, value: Number(v) }))} format={(v) => v.toFixed(0)} />}
          <DataTable label="allocation result" rows={fieldRows(data)} />
        </Box>
      )}
    </Section>
  );
}

function Reports({ analyst }: { analyst: boolean }) {
  const reports = useReportsQuery();
  const [create, created] = useCreateReportMutation();
  const [jobId, setJobId] = useState<string | null>(null);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const fetchBlob = useFetchBlob();

  // Report files need the bearer token: fetch, then hand the browser a blob URL.
  const download = async (url: string, name: string) => {
    setDownloadError(null);
    try {
      const href = URL.createObjectURL(await fetchBlob(url));
      const a = document.createElement('a');
      a.href = href;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(href), 10_000);
    } catch (err) {
      setDownloadError(errorMessage(err));
    }
  };

  return (
    <Section
      title="Reports"
      action={
        analyst && (
          <Button
            variant="outlined"
            disabled={created.isLoading}
            onClick={async () => {
              const r = await create({});
              if ('data' in r && r.data) setJobId(r.data.job_id);
            }}
          >
            New report
          </Button>
        )
      }
    >
      <ErrorAlert error={reports.error ?? created.error} />
      {downloadError && <Alert severity="error">{downloadError}</Alert>}
      {jobId && <JobProgress key={jobId} id={jobId} onDone={() => void reports.refetch()} />}
      {(reports.data ?? []).length === 0 && !reports.error && <Typography color="text.secondary">No reports yet</Typography>}
      {(reports.data ?? []).map((r) => (
        <Box key={r.id} sx={{ display: 'flex', gap: 2, alignItems: 'center', flexWrap: 'wrap', py: 0.5, borderBottom: '1px solid', borderColor: 'divider' }}>
          <Typography sx={{ flexGrow: 1 }}>
            {r.title ?? r.id} · {typeof r.created_at === 'number' ? new Date(r.created_at * 1000).toLocaleString() : ''}
          </Typography>
          <Link component="button" onClick={() => void download(String(r.html_url), `report-${r.id}.html`)}>
            HTML
          </Link>
          <Link component="button" onClick={() => void download(String(r.pdf_url), `report-${r.id}.pdf`)}>
            PDF
          </Link>
        </Box>
      ))}
    </Section>
  );
}

export function AnalyticsPage() {
  const role = useAppSelector(selectRole);
  const analyst = can.analyse(role);
  const [imported, setImported] = useState(0);
  return (
    <>
      <Typography variant="h5" component="h1" gutterBottom>
        Analytics
      </Typography>
      {analyst && <Upload onImported={() => setImported((n) => n + 1)} />}
      <Segments refresh={imported} analyst={analyst} onImported={() => setImported((n) => n + 1)} />
      {analyst && <CustomerLookup />}
      {analyst && <Targeting />}
      {analyst && <Allocation />}
      <Reports analyst={analyst} />
    </>
  );
}
