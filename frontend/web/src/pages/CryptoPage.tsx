import {
  DIRECTION_SOURCES,
  SYMBOLS,
  can,
  changeText,
  directionNote,
  errorMessage,
  num,
  pairName,
  riseChance,
  selectRole,
  shortTime,
  skillTone,
  useBacktest,
  useCandleImport,
  useCryptoFeed,
  type CryptoPrediction,
} from '@armillary/shared';
import { Alert, Box, Button, Chip, Grid, MenuItem, Stack, TextField, Typography } from '@mui/material';
import { useState, type FormEvent } from 'react';
import { DataTable } from '../components/DataTable';
import { ErrorAlert } from '../components/ErrorAlert';
import { LineChart } from '../components/LineChart';
import { Section } from '../components/Section';
import { useAppSelector } from '../store';

const STATUS_COLOR = { open: 'success', connecting: 'info', reconnecting: 'warning', failed: 'error', closed: 'default', idle: 'default' } as const;

export function Latest({ p }: { p: CryptoPrediction }) {
  const note = directionNote(p);
  return (
    <>
      <Grid container spacing={2} data-testid="latest-prediction">
        {[
          ['Last close', num(p.last_close)],
          [`Predicted close (+${p.horizon})`, num(p.predicted_close)],
          ['Predicted change', changeText(p)],
          ['Chance of a rise', riseChance(p)],
          ['Data time', shortTime(p.as_of)],
          ['Model', p.model ? `${p.model.name} v${p.model.version}` : (p.model_version ?? '—')],
        ].map(([k, v]) => (
          <Grid key={k} size={{ xs: 6, sm: 4, md: 2 }}>
            <Typography variant="caption" color="text.secondary">
              {k}
            </Typography>
            <Typography variant="subtitle1" sx={{ fontVariantNumeric: 'tabular-nums' }}>
              {v}
            </Typography>
          </Grid>
        ))}
      </Grid>
      <Typography variant="caption" color="text.secondary" display="block" sx={{ mt: 1 }}>
        {DIRECTION_SOURCES}
      </Typography>
      {note && (
        <Alert severity="info" sx={{ mt: 1 }} data-testid="direction-note">
          {note}
        </Alert>
      )}
    </>
  );
}

/** No candles stored yet: say so, and (for staff) offer the import that fixes it. */
export function ImportCandles({ symbol, canImport, onImported }: { symbol: string; canImport: boolean; onImported: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const { importFile, result } = useCandleImport(symbol, onImported);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (file) await importFile(file);
  };
  return (
    <Alert severity="info" sx={{ mb: 2 }} data-testid="needs-candles">
      No {pairName(symbol)} candles are stored yet, so there is no price history or prediction.{' '}
      {canImport
        ? 'Import an OHLCV CSV (CCXT or CryptoDataDownload layout) here, or start the suite with ../shared/data/crypto present.'
        : 'Ask an analyst or admin to import candles.'}
      {canImport && (
        <Stack component="form" aria-label="import candles" direction="row" spacing={1} onSubmit={submit} sx={{ mt: 1, alignItems: 'center' }}>
          <Button variant="outlined" size="small" component="label">
            {file ? file.name : 'Choose CSV'}
            <input hidden type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} data-testid="candles-file" />
          </Button>
          <Button type="submit" size="small" variant="contained" disabled={!file || result.isLoading}>
            Import candles
          </Button>
        </Stack>
      )}
      <ErrorAlert error={result.error} />
    </Alert>
  );
}

/** Why there is no prediction yet, and what happens next (the feed polls meanwhile). */
function NoPrediction({ error, training }: { error: unknown; training: boolean }) {
  if (training) {
    return (
      <Alert severity="info" sx={{ mb: 2 }} data-testid="model-training">
        The model is not ready yet. {errorMessage(error)} This page checks again every 15 seconds.
      </Alert>
    );
  }
  return <ErrorAlert error={error} title="Latest prediction" />;
}

function Backtest({ symbol }: { symbol: string }) {
  const { backtest: bt, pending } = useBacktest(symbol);
  if (pending) {
    return (
      <Typography color="text.secondary" data-testid="no-backtest">
        No backtest yet: the walk-forward report is stored when the model is trained ({errorMessage(bt.error)}).
      </Typography>
    );
  }
  if (bt.error) return <ErrorAlert error={bt.error} title="Backtest" />;
  if (!bt.data) return <Typography color="text.secondary">Loading…</Typography>;
  const report = bt.data.report as { metrics?: Record<string, Record<string, unknown>>; folds?: unknown[]; notes?: string[] };
  const rows = Object.entries(report.metrics ?? {}).map(([name, m]) => ({ model: name, ...m }));
  return (
    <>
      <Typography variant="body2" sx={{ mb: 1 }}>
        {bt.data.model.name} v{String(bt.data.model.version)}, horizon {bt.data.horizon} × {bt.data.interval};{' '}
        {Array.isArray(report.folds) ? `${report.folds.length} walk-forward folds` : ''}
      </Typography>
      <DataTable
        label="backtest metrics"
        rows={rows}
        columns={['model', 'n', 'mae', 'rmse', 'mase', 'hit_rate', 'dm_statistic', 'dm_p_value']}
        empty="No metrics in the stored report"
      />
      {(report.notes ?? []).map((n) => (
        <Typography key={n} variant="caption" display="block" color="text.secondary">
          {n}
        </Typography>
      ))}
    </>
  );
}

export function CryptoPage() {
  const [symbol, setSymbol] = useState(SYMBOLS[0]);
  const { feed, latest, history, newest, training, noCandles, refetch } = useCryptoFeed(symbol, { pageOrigin: window.location.origin });
  const role = useAppSelector(selectRole);
  const skill = newest?.skill;
  const t = (iso: string) => Date.parse(iso);

  return (
    <>
      <Stack direction="row" spacing={2} sx={{ mb: 2, alignItems: 'center', flexWrap: 'wrap', rowGap: 1 }}>
        <Typography variant="h5" component="h1">
          Crypto
        </Typography>
        <TextField select size="small" label="Symbol" value={symbol} onChange={(e) => setSymbol(e.target.value)}>
          {SYMBOLS.map((s) => (
            <MenuItem key={s} value={s}>
              {pairName(s)}
            </MenuItem>
          ))}
        </TextField>
        <Chip
          size="small"
          data-testid="live-status"
          label={`live: ${feed.status}`}
          color={STATUS_COLOR[feed.status]}
          variant="outlined"
        />
        <Typography variant="caption">
          {feed.prices.length} candles · {feed.predictions.length} predictions · <span data-testid="live-count">{feed.live}</span> live
        </Typography>
      </Stack>
      {feed.error && feed.status !== 'open' && <Alert severity="warning" sx={{ mb: 1 }}>Live updates: {feed.error}</Alert>}
      {noCandles && <ImportCandles symbol={symbol} canImport={can.importCandles(role)} onImported={refetch} />}
      {latest.error && !newest && !noCandles && <NoPrediction error={latest.error} training={training} />}
      <ErrorAlert error={history.error} title="Stored history" />

      {skill && (
        <Alert severity={skillTone(skill)} sx={{ mb: 2 }} data-testid="skill">
          Model skill: {skill}
        </Alert>
      )}
      {newest?.note && (
        <Alert severity="warning" sx={{ mb: 2 }}>
          {newest.note}
        </Alert>
      )}

      <Section title={`Price and predictions · ${pairName(symbol)}`}>
        <LineChart
          label={`${symbol} close price and predicted close`}
          series={[
            { name: 'close (stored and live candles)', color: '#1f4e79', points: feed.prices.map((p) => ({ x: t(p.time), y: p.close })) },
            {
              name: 'predicted close',
              color: '#b5651d',
              dashed: true,
              dots: true,
              points: feed.predictions
                .filter((p) => typeof p.predicted_close === 'number')
                .map((p) => ({ x: t(p.target_time), y: p.predicted_close as number })),
            },
          ]}
        />
        <Box sx={{ mt: 2 }}>{newest ? <Latest p={newest} /> : <Typography color="text.secondary">Waiting for the first prediction…</Typography>}</Box>
      </Section>

      <Section title="Recent predictions">
        <DataTable
          label="recent predictions"
          rows={[...feed.predictions].reverse().slice(0, 12).map((p) => ({
            as_of: shortTime(p.as_of),
            horizon: p.horizon,
            last_close: p.last_close,
            predicted_close: p.predicted_close,
            'predicted change': changeText(p),
            'chance of a rise': riseChance(p),
            model: p.model ? `v${p.model.version}` : p.model_version,
          }))}
          empty="No predictions yet"
        />
      </Section>

      <Section title="Walk-forward backtest">
        <Backtest symbol={symbol} />
      </Section>
    </>
  );
}
