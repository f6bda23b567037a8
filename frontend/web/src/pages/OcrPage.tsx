import {
  documentSummary,
  fieldGroups,
  jobOutcome,
  jobStarted,
  jobView,
  pageText,
  useDocumentPolling,
  useOcrBatchesQuery,
  useOcrDocumentsQuery,
  useOcrUpload,
  type Job,
  type OcrDocument,
  type OcrPage as OcrPageResult,
} from '@armillary/shared';
import {
  Alert,
  Box,
  Button,
  FormControlLabel,
  Grid,
  LinearProgress,
  List,
  ListItemButton,
  ListItemText,
  Stack,
  Switch,
  Tab,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableRow,
  Tabs,
  Typography,
} from '@mui/material';
import { useState, type FormEvent } from 'react';
import { AuthImage } from '../components/AuthImage';
import { DataTable, HeaderRow } from '../components/DataTable';
import { ErrorAlert } from '../components/ErrorAlert';
import { JobFailure } from '../components/JobFailure';
import { Section } from '../components/Section';
import { JobProgress } from './AnalyticsPage';

function WordBoxes({ page }: { page: OcrPageResult }) {
  return (
    <>
      {page.words.map((w, i) => (
        <Box
          key={i}
          title={`${w.text}${typeof w.confidence === 'number' ? ` (${Math.round(w.confidence)}%)` : ''}`}
          sx={{
            position: 'absolute',
            left: `${(w.left / page.width) * 100}%`,
            top: `${(w.top / page.height) * 100}%`,
            width: `${(w.width / page.width) * 100}%`,
            height: `${(w.height / page.height) * 100}%`,
            border: '1px solid',
            borderColor: typeof w.confidence === 'number' && w.confidence < 60 ? 'error.main' : 'success.main',
            bgcolor: 'rgba(46,125,50,.08)',
          }}
        />
      ))}
    </>
  );
}

/** Extracted fields per processor, e.g. receipt: vendor, date, total. */
function Fields({ fields }: { fields: OcrDocument['fields'] }) {
  const groups = fieldGroups(fields);
  if (!groups.length) return <Typography color="text.secondary">No fields extracted</Typography>;
  return (
    <>
      {groups.map(({ processor, rows }) => (
        <Box key={processor} sx={{ mb: 1 }} data-testid={`fields-${processor}`}>
          <Typography variant="subtitle2">{processor}</Typography>
          <DataTable
            label={`${processor} fields`}
            rows={rows}
            columns={['field', 'value']}
          />
        </Box>
      ))}
    </>
  );
}

export function DocumentView({ doc }: { doc: OcrDocument }) {
  const [page, setPage] = useState(0);
  const [boxes, setBoxes] = useState(true);
  const pages = doc.page_results ?? [];
  const current = pages[page];
  return (
    <Section title={`Document ${doc.filename ?? doc.id}`}>
      <Typography variant="body2" sx={{ mb: 1 }}>
        {documentSummary(doc)}
      </Typography>
      {doc.status !== 'succeeded' && doc.status !== 'processing' && <Alert severity="warning">{String(doc.error ?? doc.status)}</Alert>}
      {pages.length > 1 && (
        <Tabs value={page} onChange={(_, v: number) => setPage(v)} variant="scrollable" sx={{ mb: 1 }}>
          {pages.map((p) => (
            <Tab key={p.page} label={`Page ${p.page}`} />
          ))}
        </Tabs>
      )}
      <Grid container spacing={2}>
        <Grid size={{ xs: 12, md: 6 }}>
          {doc.page_image_urls?.[page] ? (
            <>
              <FormControlLabel control={<Switch checked={boxes} onChange={(e) => setBoxes(e.target.checked)} />} label="Word boxes" />
              <AuthImage src={doc.page_image_urls[page]} alt={`page ${page + 1} as processed`}>
                {boxes && current && <WordBoxes page={current} />}
              </AuthImage>
            </>
          ) : (
            <Typography color="text.secondary">No page image kept for this page</Typography>
          )}
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          <Typography variant="subtitle2">Recognised text</Typography>
          <Box
            component="pre"
            data-testid="ocr-text"
            sx={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word', fontSize: 13, bgcolor: 'grey.100', p: 1, borderRadius: 1, maxHeight: 420, overflow: 'auto' }}
          >
            {pageText(doc, page)}
          </Box>
          <Typography variant="subtitle2" sx={{ mt: 1 }}>
            Extracted fields
          </Typography>
          <Fields fields={doc.fields} />
        </Grid>
      </Grid>
    </Section>
  );
}

function StoredDocument({ id }: { id: string }) {
  const doc = useDocumentPolling(id);
  if (doc.error) return <ErrorAlert error={doc.error} />;
  if (!doc.data) return <LinearProgress />;
  return <DocumentView doc={doc.data} />;
}

function Upload({ onOpen }: { onOpen: (id: string) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [runAsync, setRunAsync] = useState(false);
  const { recognise, result, jobId } = useOcrUpload(onOpen);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    const body = new FormData();
    body.append('file', file);
    await recognise(body, runAsync);
  };
  return (
    <Section title="Upload a document">
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        PNG, JPEG, TIFF or PDF. Long documents run as a job with live progress.
      </Typography>
      <Stack component="form" aria-label="upload document" direction={{ xs: 'column', sm: 'row' }} spacing={1} onSubmit={submit} sx={{ alignItems: { sm: 'center' } }}>
        <Button variant="outlined" component="label">
          {file ? file.name : 'Choose file'}
          <input hidden type="file" name="file" accept="image/png,image/jpeg,image/tiff,application/pdf" onChange={(e) => setFile(e.target.files?.[0] ?? null)} data-testid="document-file" />
        </Button>
        <FormControlLabel control={<Switch checked={runAsync} onChange={(e) => setRunAsync(e.target.checked)} />} label="Run as a job" />
        <Button type="submit" variant="contained" disabled={!file || result.isLoading}>
          {result.isLoading ? 'Recognising…' : 'Recognise'}
        </Button>
      </Stack>
      {result.isLoading && <LinearProgress sx={{ mt: 1 }} />}
      <ErrorAlert error={result.error} />
      {jobId && <JobProgress key={jobId} id={jobId} />}
    </Section>
  );
}

function Documents({ onOpen }: { onOpen: (id: string) => void }) {
  const docs = useOcrDocumentsQuery();
  return (
    <Section title="Recent documents" action={<Button onClick={() => void docs.refetch()}>Refresh</Button>}>
      <ErrorAlert error={docs.error} />
      {(docs.data ?? []).length === 0 && !docs.error && <Typography color="text.secondary">No documents yet: choose a file under “Upload a document” above and press Recognise.</Typography>}
      <List dense>
        {(docs.data ?? []).slice(0, 20).map((d) => (
          <ListItemButton key={d.id} onClick={() => onOpen(d.id)}>
            <ListItemText
              primary={d.filename ?? d.id}
              secondary={`${d.status} · ${d.pages ?? '?'} page(s)${typeof d.created_at === 'number' ? ` · ${new Date(d.created_at * 1000).toLocaleString()}` : ''}`}
            />
          </ListItemButton>
        ))}
      </List>
    </Section>
  );
}

/** Batch OCR jobs: a failure reads as a sentence, its recorded error on demand. */
export function BatchJobs({ jobs }: { jobs: Job[] }) {
  if (!jobs.length) {
    return (
      <Typography color="text.secondary">
        No batch jobs yet. To recognise a folder of documents, run <code>armillary ocr batch SRC OUT</code>; its progress shows here.
      </Typography>
    );
  }
  return (
    <TableContainer component={Box} sx={{ overflowX: 'auto', maxWidth: '100%' }}>
      <Table size="small" aria-label="ocr batches">
        <HeaderRow columns={['id', 'started', 'status', 'pages', 'outcome']} />
        <TableBody>
          {jobs.map((j) => (
            <TableRow key={j.id} data-testid={`batch-${j.id}`}>
              <TableCell sx={{ fontFamily: 'monospace' }}>{j.id.slice(0, 8)}</TableCell>
              <TableCell sx={{ whiteSpace: 'nowrap' }}>{jobStarted(j)}</TableCell>
              <TableCell>{j.status}</TableCell>
              <TableCell sx={{ whiteSpace: 'nowrap' }}>{jobView(j).progress}</TableCell>
              <TableCell sx={{ minWidth: 240 }}>
                {j.status === 'failed' ? <JobFailure job={j} /> : jobOutcome(j)}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
}

function Batches() {
  const batches = useOcrBatchesQuery(undefined, { pollingInterval: 3000 });
  return (
    <Section title="Batch jobs">
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        Started with <code>armillary ocr batch</code>; progress updates live.
      </Typography>
      <ErrorAlert error={batches.error} />
      {batches.data ? <BatchJobs jobs={batches.data} /> : !batches.error && <LinearProgress />}
    </Section>
  );
}

export function OcrPage() {
  const [open, setOpen] = useState<string | null>(null);
  return (
    <>
      <Typography variant="h5" component="h1" gutterBottom>
        Document OCR
      </Typography>
      <Upload onOpen={setOpen} />
      {open && <StoredDocument key={open} id={open} />}
      <Documents onOpen={setOpen} />
      <Batches />
    </>
  );
}
