import {
  asSegmentSummary,
  can,
  cellText,
  epochText,
  errorMessage,
  errorStatus,
  fieldRows,
  latestReport,
  selectRole,
  useAppSelector,
  useCreateReportMutation,
  useCustomerLookup,
  useImportSampleMutation,
  useReportsQuery,
  useSegmentsQuery,
} from '@armillary/shared';
import { useState } from 'react';
import { View } from 'react-native';
import { Banner, Bar, Body, Button, Card, Field, KeyValue, Muted, Screen, Title } from '../ui';
import { useRefresh } from '../useRefresh';
import { JobProgress } from './JobProgress';

/** "No data at hand": the sample transactions (real where the suite has the shared data,
 * else synthetic, and it says which), imported as a job; `onImported` once it succeeded. */
function SampleData({ onStarted, onImported }: { onStarted: () => void; onImported: () => void }) {
  const [start, started] = useImportSampleMutation();
  const sample = started.data;
  return (
    <View testID="sample-data" style={{ gap: 6 }}>
      {!sample && (
        <Button
          title="Load sample data"
          disabled={started.isLoading}
          onPress={() => {
            onStarted();
            void start();
          }}
        />
      )}
      {started.error != null && <Banner tone="error">{errorMessage(started.error)}</Banner>}
      {sample && (
        <>
          <Body testID="sample-source">
            Sample data: {sample.source}, imported into dataset {sample.dataset_id}.
          </Body>
          {sample.synthetic && <Banner tone="warning">Synthetic data: made-up customers for trying the app, not real results.</Banner>}
          <JobProgress id={sample.job_id} onDone={(ok) => ok && onImported()} />
        </>
      )}
    </View>
  );
}

function Segments({ data, error, analyst, onImported }: {
  data: ReturnType<typeof asSegmentSummary>; error: unknown; analyst: boolean; onImported: () => void;
}) {
  const [sampling, setSampling] = useState(false);
  const empty = error != null && errorStatus(error) === 404;
  const rows = data?.segments ?? [];
  const maxCustomers = Math.max(0, ...rows.map((r) => Number(r.customers ?? 0)));
  return (
    <Card title="Segment overview">
      {error != null && (
        <Banner tone={empty ? 'info' : 'error'}>
          {errorMessage(error)}
          {analyst && empty ? ' Import your transactions, or try the app with sample data:' : ''}
        </Banner>
      )}
      {analyst && (empty || sampling) && <SampleData onStarted={() => setSampling(true)} onImported={onImported} />}
      {!error && !data && <Muted>Loading…</Muted>}
      {data && (
        <>
          <Body testID="segment-summary">
            {data.dataset_id ? `Dataset ${data.dataset_id}: ` : ''}{data.customers} customers as of {data.as_of}; KMeans k = {data.kmeans?.k} (silhouette {cellText(data.kmeans?.silhouette)})
          </Body>
          {rows.length === 0 && <Muted>No segments</Muted>}
          {rows.map((r) => (
            <Bar
              key={String(r.segment)}
              label={String(r.segment)}
              value={Number(r.customers ?? 0)}
              max={maxCustomers}
              text={`${cellText(r.customers)} customers · ${Number(r.total_monetary ?? 0).toLocaleString(undefined, { maximumFractionDigits: 0 })} revenue`}
            />
          ))}
        </>
      )}
    </Card>
  );
}

function CustomerLookup() {
  const [id, setId] = useState('');
  const { lookup, segment: seg, clv: clvResult } = useCustomerLookup();
  const submit = () => lookup(id);
  return (
    <Card title="Customer lookup">
      <Field label="Customer id" value={id} onChangeText={setId} autoCapitalize="none" autoCorrect={false} returnKeyType="search" onSubmitEditing={submit} />
      <Button title="Look up" disabled={!id.trim()} onPress={submit} />
      {seg.error && <Banner tone="error">Segment: {errorMessage(seg.error)}</Banner>}
      {seg.data && (
        <View testID="customer-segment">
          <Body>Segment</Body>
          {fieldRows(seg.data).map((r) => (
            <KeyValue key={r.field} label={r.field} value={r.value} />
          ))}
        </View>
      )}
      {clvResult.error && <Banner tone="error">Lifetime value: {errorMessage(clvResult.error)}</Banner>}
      {clvResult.data && (
        <View testID="customer-clv">
          <Body>Lifetime value</Body>
          {fieldRows(clvResult.data).map((r) => (
            <KeyValue key={r.field} label={r.field} value={r.value} />
          ))}
        </View>
      )}
    </Card>
  );
}

function LatestReport({ analyst }: { analyst: boolean }) {
  const reports = useReportsQuery(undefined, { refetchOnReconnect: true });
  const [create, created] = useCreateReportMutation();
  const [jobId, setJobId] = useState<string | null>(null);
  const latest = latestReport(reports.data);
  return (
    <Card
      title="Latest report"
      action={
        analyst ? (
          <Button
            title="New report"
            variant="outline"
            disabled={created.isLoading}
            onPress={async () => {
              const r = await create({});
              if ('data' in r && r.data) setJobId(r.data.job_id);
            }}
          />
        ) : undefined
      }
    >
      {(reports.error || created.error) && <Banner tone="error">{errorMessage(reports.error ?? created.error)}</Banner>}
      {jobId && <JobProgress key={jobId} id={jobId} onDone={() => void reports.refetch()} />}
      {!reports.error && reports.data && !latest && <Muted>No reports yet</Muted>}
      {latest && (
        <View testID="latest-report">
          <Body>{latest.title ?? latest.id}</Body>
          <KeyValue label="Created" value={epochText(latest.created_at) || String(latest.created_at ?? '—')} />
          {Object.entries(latest)
            .filter(([k, v]) => !['id', 'title', 'created_at'].includes(k) && !k.endsWith('_url') && (typeof v !== 'object' || v === null))
            .map(([k, v]) => (
              <KeyValue key={k} label={k} value={v} />
            ))}
          <Muted>{reports.data?.length ?? 0} report(s) in all; open the HTML or PDF in the web app.</Muted>
        </View>
      )}
    </Card>
  );
}

/** Segment summary for everyone; customer lookup and new reports for analysts and admins. */
export function AnalyticsScreen() {
  const role = useAppSelector(selectRole);
  const analyst = can.analyse(role);
  const seg = useSegmentsQuery({}, { refetchOnReconnect: true });
  const reports = useReportsQuery(undefined, { refetchOnReconnect: true });
  const { refreshing, onRefresh } = useRefresh(seg.refetch, reports.refetch);
  return (
    <Screen testID="analytics-screen" refreshing={refreshing} onRefresh={onRefresh}>
      <Title>Analytics</Title>
      <Segments data={asSegmentSummary(seg.data)} error={seg.error} analyst={analyst} onImported={() => void seg.refetch()} />
      {analyst && <CustomerLookup />}
      <LatestReport analyst={analyst} />
    </Screen>
  );
}
