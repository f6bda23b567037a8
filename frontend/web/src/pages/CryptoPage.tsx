import {
  connectCryptoFeed,
  errorMessage,
  errorStatus,
  historyLoaded,
  predictionLoaded,
  selectUser,
  selectFeed,
  useBacktestQuery,
  useCryptoHistoryQuery,
  useImportCandlesMutation,
  usePredictionQuery,
  type CryptoPrediction,
  type RootState,
} from '@armillary/shared';
import { Alert, Box, Button, Chip, Grid, MenuItem, Stack, TextField, Typography } from '@mui/material';
import { useEffect, useState, type FormEvent } from 'react';
import { useStore } from 'react-redux';
import { DataTable } from '../components/DataTable';
import { ErrorAlert } from '../components/ErrorAlert';
import { LineChart } from '../components/LineChart';
import { Section } from '../components/Section';
import { useClient } from '../clientContext';
import { useAppDispatch, useAppSelector } from '../store';

export const SYMBOLS = ['BTC-USDT', 'ETH-USDT'];

const STATUS_COLOR = { open: 'success', connecting: 'info', reconnecting: 'warning', failed: 'error', closed: 'default', idle: 'default' } as const;

function pct(x: number | null | undefined, digits = 1): string {
  return typeof x === 'number' ? `${(x * 100).toFixed(digits)}%` : '—';
}

function num(x: number | null | undefined, digits = 2): string {
  return typeof x === 'number' ? x.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';
}

/** The predicted change over the horizon, from the predicted log return. */
export function change(p: Pick<CryptoPrediction, 'predicted_return'>): string {
  if (typeof p.predicted_return !== 'number') return '—';
  const c = Math.expm1(p.predicted_return) * 100;
  return `${c >= 0 ? '+' : ''}${c.toFixed(c !== 0 && Math.abs(c) < 0.1 ? 3 : 2)}%`;
}

/** Whether the return forecast and the up/down classifier point the same way (null when
 * unknown); the server's `heads_agree` wins when it sends one. */
export function headsAgree(p: CryptoPrediction): boolean | null {
  if (typeof p.heads_agree === 'boolean') return p.heads_agree;
  if (typeof p.predicted_return !== 'number' || typeof p.prob_up !== 'number') return null;
  return p.predicted_return > 0 === p.prob_up > 0.5;
}

/** One sentence on the direction: the server's `direction_note`, else ours when the heads disagree. */
export function directionNote(p: CryptoPrediction): string | null {
  if (p.direction_note) return p.direction_note;
  if (headsAgree(p) !== false) return null;
  return (
    `The two forecasts disagree: the return forecast says ${p.direction} (${change(p)}), ` +
    `but the up/down classifier gives a ${pct(p.prob_up, 0)} chance of a rise. Treat the direction as uncertain.`
  );
}

export function Latest({ p }: { p: CryptoPrediction }) {
  const note = directionNote(p);
  return (
    <>
      <Grid container spacing={2} data-testid="latest-prediction">
        {[
          ['Last close', num(p.last_close)],
          [`Predicted close (+${p.horizon})`, num(p.predicted_close)],
          ['Predicted change', `${change(p)} (${p.direction})`],
          ['Chance of a rise', pct(p.prob_up, 0)],
          ['Data time', p.as_of.replace('T', ' ').slice(0, 16)],
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
        Predicted change and its direction come from the model&apos;s return forecast; the chance of a rise from its separate
        up/down classifier.
      </Typography>
      {note && (
        <Alert severity="info" sx={{ mt: 1 }} data-testid="direction-note">
          {note}
        </Alert>
      )}
    </>
  );
}

const STAFF_ROLES = ['admin', 'analyst', 'researcher'];

/** No candles stored yet: say so, and (for staff) offer the import that fixes it. */
export function ImportCandles({ symbol, canImport, onImported }: { symbol: string; canImport: boolean; onImported: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [send, sent] = useImportCandlesMutation();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    const body = new FormData();
    body.append('file', file);
    body.append('symbol', symbol.replace('-', '/'));
    const r = await send(body);
    if ('data' in r) onImported();
  };
  return (
    <Alert severity="info" sx={{ mb: 2 }} data-testid="needs-candles">
      No {symbol.replace('-', '/')} candles are stored yet, so there is no price history or prediction.{' '}
      {canImport
        ? 'Import an OHLCV CSV (CCXT or CryptoDataDownload layout) here, or start the suite with ../shared/data/crypto present.'
        : 'Ask an analyst or admin to import candles.'}
      {canImport && (
        <Stack component="form" aria-label="import candles" direction="row" spacing={1} onSubmit={submit} sx={{ mt: 1, alignItems: 'center' }}>
          <Button variant="outlined" size="small" component="label">
            {file ? file.name : 'Choose CSV'}
            <input hidden type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} data-testid="candles-file" />
          </Button>
          <Button type="submit" size="small" variant="contained" disabled={!file || sent.isLoading}>
            Import candles
          </Button>
        </Stack>
      )}
      <ErrorAlert error={sent.error} />
    </Alert>
  );
}

/** Why there is no prediction yet, and what happens next (the page polls meanwhile). */
function NoPrediction({ error }: { error: unknown }) {
  const status = errorStatus(error);
  if (status === 503) {
    return (
      <Alert severity="info" sx={{ mb: 2 }} data-testid="model-training">
        The model is not ready yet. <ErrorText error={error} /> This page checks again every 15 seconds.
      </Alert>
    );
  }
  return <ErrorAlert error={error} title="Latest prediction" />;
}

function ErrorText({ error }: { error: unknown }) {
  return <>{errorMessage(error)}</>;
}

function Backtest({ symbol }: { symbol: string }) {
  const [poll, setPoll] = useState(0);
  const bt = useBacktestQuery({ symbol }, { pollingInterval: poll });
  useEffect(() => setPoll(bt.error ? 15_000 : 0), [bt.error]); // a model in training: check again
  const status = errorStatus(bt.error);
  if (bt.error && (status === 404 || status === 503)) {
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
  const client = useClient();
  const store = useStore<RootState>();
  const dispatch = useAppDispatch();
  const feed = useAppSelector((s) => selectFeed(s, symbol));
  const user = useAppSelector(selectUser);
  const [waiting, setWaiting] = useState(false);
  const latest = usePredictionQuery({ symbol }, { pollingInterval: waiting ? 15_000 : 0 });
  const history = useCryptoHistoryQuery({ symbol, limit: 200 }, { pollingInterval: waiting ? 15_000 : 0 });

  useEffect(() => setWaiting(!!latest.error || (!!history.data && history.data.candles.length === 0)), [latest.error, history.data]);
  useEffect(() => {
    if (history.data) dispatch(historyLoaded({ symbol, history: history.data }));
  }, [history.data, symbol, dispatch]);
  useEffect(() => {
    if (latest.data) dispatch(predictionLoaded({ symbol, prediction: latest.data }));
  }, [latest.data, symbol, dispatch]);

  useEffect(() => {
    const socket = connectCryptoFeed(symbol, {
      client,
      getState: store.getState,
      dispatch: store.dispatch,
      pageOrigin: window.location.origin,
    });
    return () => socket.stop();
  }, [symbol, client, store]);

  const last = feed.predictions.length ? feed.predictions[feed.predictions.length - 1] : null;
  // a stored prediction carries no model details: take them from the fetched latest
  const newest = last && latest.data && !last.model ? { ...latest.data, ...last, model: latest.data.model, skill: latest.data.skill, note: latest.data.note } : last;
  const skill = newest?.skill;
  // while a model trains (503), its job may be loading the candles: say that, not "import some"
  const training = errorStatus(latest.error) === 503;
  const noCandles = !training && !!history.data && history.data.candles.length === 0 && feed.prices.length === 0;
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
              {s.replace('-', '/')}
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
      {noCandles && (
        <ImportCandles
          symbol={symbol}
          canImport={!!user && STAFF_ROLES.includes(user.role)}
          onImported={() => {
            void history.refetch();
            void latest.refetch();
          }}
        />
      )}
      {latest.error && !newest && !noCandles && <NoPrediction error={latest.error} />}
      <ErrorAlert error={history.error} title="Stored history" />

      {skill && (
        <Alert severity={/no demonstrated skill/i.test(skill) ? 'info' : 'success'} sx={{ mb: 2 }} data-testid="skill">
          Model skill: {skill}
        </Alert>
      )}
      {newest?.note && (
        <Alert severity="warning" sx={{ mb: 2 }}>
          {newest.note}
        </Alert>
      )}

      <Section title={`Price and predictions · ${symbol.replace('-', '/')}`}>
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
            as_of: p.as_of.replace('T', ' ').slice(0, 16),
            horizon: p.horizon,
            last_close: p.last_close,
            predicted_close: p.predicted_close,
            'predicted change': `${change(p)} (${p.direction})`,
            'chance of a rise': pct(p.prob_up, 0),
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
