import {
  SYMBOLS,
  num,
  pct,
  shortTime,
  skillTone,
  useBacktestQuery,
  useCryptoFeed,
  type CryptoPrediction,
} from '@armillary/shared';
import { Alert, Box, Chip, Grid, MenuItem, Stack, TextField, Typography } from '@mui/material';
import { useState } from 'react';
import { DataTable } from '../components/DataTable';
import { ErrorAlert } from '../components/ErrorAlert';
import { LineChart } from '../components/LineChart';
import { Section } from '../components/Section';

const STATUS_COLOR = { open: 'success', connecting: 'info', reconnecting: 'warning', failed: 'error', closed: 'default', idle: 'default' } as const;

function Latest({ p }: { p: CryptoPrediction }) {
  return (
    <Grid container spacing={2} data-testid="latest-prediction">
      {[
        ['Last close', num(p.last_close)],
        [`Predicted close (+${p.horizon})`, num(p.predicted_close)],
        ['Direction', p.direction],
        ['P(up)', pct(p.prob_up)],
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
  );
}

function Backtest({ symbol }: { symbol: string }) {
  const bt = useBacktestQuery({ symbol });
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
  const { feed, latest, newest } = useCryptoFeed(symbol, { pageOrigin: window.location.origin });
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
          <span data-testid="live-count">{feed.live}</span> live · {feed.predictions.length} shown
        </Typography>
      </Stack>
      {feed.error && feed.status !== 'open' && <Alert severity="warning" sx={{ mb: 1 }}>Live updates: {feed.error}</Alert>}
      {latest.error && !newest && <ErrorAlert error={latest.error} title="Latest prediction" />}

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

      <Section title={`Price and predictions · ${symbol.replace('-', '/')}`}>
        <LineChart
          label={`${symbol} close price and predicted close`}
          series={[
            { name: 'close (live candles)', color: '#1f4e79', points: feed.prices.map((p) => ({ x: t(p.time), y: p.close })) },
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
            direction: p.direction,
            'p(up)': pct(p.prob_up),
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
