import {
  DIRECTION_SOURCES,
  SYMBOLS,
  changeText,
  directionNote,
  errorMessage,
  num,
  riseChance,
  shortTime,
  skillTone,
  useBacktestQuery,
  useCryptoFeed,
  type CryptoPrediction,
  type SocketStatus,
} from '@armillary/shared';
import { useState } from 'react';
import { View } from 'react-native';
import { useDeps, useOnline } from '../context';
import type { Tone } from '../theme';
import { useRefresh } from '../useRefresh';
import { Banner, Body, Card, Chip, KeyValue, Muted, Screen, Segmented, Title } from '../ui';

const STATUS_TONE: Record<SocketStatus, Tone> = { open: 'success', connecting: 'info', reconnecting: 'warning', failed: 'error', closed: 'info', idle: 'info' };

function Latest({ p }: { p: CryptoPrediction }) {
  const note = directionNote(p);
  return (
    <View testID="latest-prediction">
      <KeyValue label="Last close" value={num(p.last_close)} />
      <KeyValue label={`Predicted close (+${p.horizon})`} value={num(p.predicted_close)} />
      <KeyValue label="Predicted change" value={changeText(p)} />
      <KeyValue label="Chance of a rise" value={riseChance(p)} />
      <KeyValue label="Data time" value={shortTime(p.as_of)} />
      <KeyValue label="Model" value={p.model ? `${p.model.name} v${p.model.version}` : (p.model_version ?? '—')} />
      <Muted>{DIRECTION_SOURCES}</Muted>
      {note && (
        <Banner tone="info" testID="direction-note">
          {note}
        </Banner>
      )}
    </View>
  );
}

function Backtest({ symbol }: { symbol: string }) {
  const bt = useBacktestQuery({ symbol });
  if (bt.error) return <Banner tone="info">{errorMessage(bt.error)}</Banner>;
  if (!bt.data) return <Muted>Loading…</Muted>;
  const report = bt.data.report as { metrics?: Record<string, Record<string, unknown>>; folds?: unknown[]; notes?: string[] };
  const metrics = Object.entries(report.metrics ?? {});
  return (
    <>
      <Body>
        {bt.data.model.name} v{String(bt.data.model.version)}, horizon {bt.data.horizon} × {bt.data.interval}
        {Array.isArray(report.folds) ? `; ${report.folds.length} walk-forward folds` : ''}
      </Body>
      {metrics.length === 0 && <Muted>No metrics in the stored report</Muted>}
      {metrics.map(([name, m]) => (
        <View key={name} testID={`metrics-${name}`}>
          <Body>{name}</Body>
          {(['mae', 'rmse', 'mase', 'hit_rate', 'dm_p_value'] as const).filter((k) => k in m).map((k) => (
            <KeyValue key={k} label={k} value={m[k]} />
          ))}
        </View>
      ))}
      {(report.notes ?? []).map((n) => (
        <Muted key={n}>{n}</Muted>
      ))}
    </>
  );
}

/** Stored history, then live prices and predictions over the WebSocket (the shared feed), the model's skill
 * statement and its walk-forward backtest. Pull to refresh refetches the HTTP parts. */
export function CryptoScreen() {
  const deps = useDeps();
  const online = useOnline();
  const [symbol, setSymbol] = useState(SYMBOLS[0]);
  const { feed, latest, history, newest } = useCryptoFeed(symbol, { create: deps.socketFactory, pageOrigin: deps.pageOrigin });
  const backtest = useBacktestQuery({ symbol });
  const { refreshing, onRefresh } = useRefresh(latest.refetch, history.refetch, backtest.refetch);

  return (
    <Screen testID="crypto-screen" refreshing={refreshing} onRefresh={onRefresh}>
      <Title>Crypto</Title>
      <Segmented label="Symbol" options={SYMBOLS.map((s) => ({ value: s, label: s.replace('-', '/') }))} value={symbol} onChange={setSymbol} />
      <View style={{ flexDirection: 'row', gap: 8, alignItems: 'center', flexWrap: 'wrap' }}>
        <Chip testID="live-status" text={`live: ${online ? feed.status : 'offline'}`} tone={online ? STATUS_TONE[feed.status] : 'warning'} />
        <Muted>
          {feed.prices.length} candles · {feed.predictions.length} predictions · <Muted testID="live-count">{String(feed.live)}</Muted> live
        </Muted>
      </View>
      {feed.error && feed.status !== 'open' && <Banner tone="warning">Live updates: {feed.error}</Banner>}
      {latest.error && !newest && <Banner tone="error">Latest prediction: {errorMessage(latest.error)}</Banner>}
      {newest?.skill && (
        <Banner tone={skillTone(newest.skill)} testID="skill">
          Model skill: {newest.skill}
        </Banner>
      )}
      {newest?.note && <Banner tone="warning">{newest.note}</Banner>}
      <Card title={`Latest · ${symbol.replace('-', '/')}`}>
        {newest ? <Latest p={newest} /> : <Muted testID="waiting">Waiting for the first prediction…</Muted>}
      </Card>
      <Card title="Recent predictions">
        {feed.predictions.length === 0 && <Muted>No predictions yet</Muted>}
        {[...feed.predictions].reverse().slice(0, 12).map((p) => (
          <KeyValue
            key={`${p.as_of}-${p.horizon}`}
            label={`${shortTime(p.as_of)} +${p.horizon}`}
            value={`${num(p.last_close)} → ${num(p.predicted_close)} ${changeText(p)} · rise ${riseChance(p)}`}
          />
        ))}
      </Card>
      <Card title="Walk-forward backtest">
        <Backtest symbol={symbol} />
      </Card>
    </Screen>
  );
}
