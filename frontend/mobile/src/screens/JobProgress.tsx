import { errorMessage, useJobPolling } from '@armillary/shared';
import { View } from 'react-native';
import { Banner, Body, ProgressBar } from '../ui';

/** A job polled until it has finished, with its progress. */
export function JobProgress({ id, onDone }: { id: string; onDone?: (ok: boolean) => void }) {
  const { job, view } = useJobPolling(id, onDone);
  return (
    <View testID="job-progress" style={{ gap: 6 }}>
      <Body>
        Job {id.slice(0, 8)}: <Body testID="job-status">{view.status}</Body>
        {view.total ? ` (${view.progress})` : ''}
      </Body>
      {!view.finished && <ProgressBar label={`job ${id.slice(0, 8)} progress`} fraction={view.fraction} />}
      {view.failed && <Banner tone="error">{String(job.data?.error ?? 'failed')}</Banner>}
      {job.error && <Banner tone="error">{errorMessage(job.error)}</Banner>}
    </View>
  );
}
