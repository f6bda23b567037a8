import {
  documentSummary,
  epochText,
  errorMessage,
  fieldGroups,
  jobFailure,
  jobView,
  pageText,
  useDocumentPolling,
  useOcrBatchesQuery,
  useOcrDocumentsQuery,
  useOcrUpload,
  type Job,
  type OcrDocument,
} from '@armillary/shared';
import { useState } from 'react';
import { ActivityIndicator, Image, View } from 'react-native';
import { useDeps } from '../context';
import type { PickedImage } from '../deps';
import { Banner, Body, Button, Card, KeyValue, ListItem, Muted, ProgressBar, Screen, Title, Toggle } from '../ui';
import { useRefresh } from '../useRefresh';
import { JobProgress } from './JobProgress';

/** React Native's FormData takes {uri, name, type} for a file on the device; the web target
 * has the picked File itself. */
function formFor(image: PickedImage): FormData {
  const body = new FormData();
  if (image.file) body.append('file', image.file, image.name);
  else body.append('file', { uri: image.uri, name: image.name, type: image.type } as unknown as Blob);
  return body;
}

export function DocumentView({ doc }: { doc: OcrDocument }) {
  const groups = fieldGroups(doc.fields);
  return (
    <Card title={`Document ${doc.filename ?? doc.id}`} testID="document">
      <Muted>{documentSummary(doc)}</Muted>
      {doc.status !== 'succeeded' && doc.status !== 'processing' && <Banner tone="warning">{String(doc.error ?? doc.status)}</Banner>}
      <Body>Extracted fields</Body>
      {groups.length === 0 && <Muted>No fields extracted</Muted>}
      {groups.map(({ processor, rows }) => (
        <View key={processor} testID={`fields-${processor}`}>
          <Muted>{processor}</Muted>
          {rows.map((r) => (
            <KeyValue key={r.field} label={r.field} value={r.value} testID={`field-${processor}-${r.field}`} />
          ))}
        </View>
      ))}
      <Body>Recognised text</Body>
      <Body testID="ocr-text" selectable>
        {pageText(doc) || '—'}
      </Body>
    </Card>
  );
}

function OpenedDocument({ id }: { id: string }) {
  const doc = useDocumentPolling(id);
  if (doc.error) return <Banner tone="error">{errorMessage(doc.error)}</Banner>;
  if (!doc.data) return <ActivityIndicator accessibilityLabel="Loading document" />;
  return <DocumentView doc={doc.data} />;
}

function Upload({ onOpen }: { onOpen: (id: string) => void }) {
  const { images } = useDeps();
  const [image, setImage] = useState<PickedImage | null>(null);
  const [runAsync, setRunAsync] = useState(false);
  const [pickError, setPickError] = useState<string | null>(null);
  const { recognise: send, result, jobId } = useOcrUpload(onOpen);

  const pick = async (how: 'take' | 'choose') => {
    setPickError(null);
    try {
      const got = await images[how]();
      if (got) setImage(got);
    } catch (err) {
      setPickError(errorMessage(err));
    }
  };

  const recognise = async () => {
    if (image) await send(formFor(image), runAsync);
  };

  return (
    <Card title="Recognise a document">
      <Muted>Take a photo of a receipt or document, or choose one. Long documents can run as a job.</Muted>
      <View style={{ flexDirection: 'row', gap: 8, flexWrap: 'wrap' }}>
        <Button title="Take photo" variant="outline" onPress={() => void pick('take')} />
        <Button title="Choose photo" variant="outline" onPress={() => void pick('choose')} />
      </View>
      {pickError && <Banner tone="error">{pickError}</Banner>}
      {image && (
        <View style={{ flexDirection: 'row', gap: 8, alignItems: 'center' }}>
          <Image source={{ uri: image.uri }} style={{ width: 56, height: 56, borderRadius: 6 }} accessibilityLabel={`photo ${image.name}`} />
          <Body testID="picked-name">{image.name}</Body>
        </View>
      )}
      <Toggle label="Run as a job" value={runAsync} onValueChange={setRunAsync} />
      <Button title={result.isLoading ? 'Recognising…' : 'Recognise'} disabled={!image || result.isLoading} onPress={() => void recognise()} />
      {result.isLoading && <ProgressBar label="uploading" fraction={null} />}
      {result.error && <Banner tone="error">{errorMessage(result.error)}</Banner>}
      {jobId && <JobProgress key={jobId} id={jobId} />}
    </Card>
  );
}

/** Why a batch failed, as a sentence for a person; the recorded error under it. */
function Failure({ job }: { job: Job }) {
  const { reason, detail } = jobFailure(job);
  return (
    <Banner tone="error" testID="job-failure">
      {reason}
      {detail ? `\n${detail}` : ''}
    </Banner>
  );
}

/** Photo to OCR: take or choose a photo, upload it, read the text and the extracted fields;
 * recent documents and async batch jobs with their progress. Pull to refresh. */
export function DocumentsScreen() {
  const [open, setOpen] = useState<string | null>(null);
  const docs = useOcrDocumentsQuery(undefined, { refetchOnReconnect: true });
  const batches = useOcrBatchesQuery(undefined, { pollingInterval: 3000, refetchOnReconnect: true });
  const { refreshing, onRefresh } = useRefresh(docs.refetch, batches.refetch);

  return (
    <Screen testID="documents-screen" refreshing={refreshing} onRefresh={onRefresh}>
      <Title>Documents</Title>
      <Upload onOpen={setOpen} />
      {open && <OpenedDocument key={open} id={open} />}
      <Card title="Recent documents">
        {docs.error && <Banner tone="error">{errorMessage(docs.error)}</Banner>}
        {!docs.error && docs.data && docs.data.length === 0 && <Muted>No documents yet</Muted>}
        {(docs.data ?? []).slice(0, 20).map((d) => (
          <ListItem
            key={d.id}
            title={d.filename ?? d.id}
            subtitle={`${d.status} · ${d.pages ?? '?'} page(s)${typeof d.created_at === 'number' ? ` · ${epochText(d.created_at)}` : ''}`}
            onPress={() => setOpen(d.id)}
          />
        ))}
      </Card>
      <Card title="Batch jobs">
        {batches.error && <Banner tone="error">{errorMessage(batches.error)}</Banner>}
        {!batches.error && batches.data && batches.data.length === 0 && <Muted>No batch jobs</Muted>}
        {(batches.data ?? []).map((j) => {
          const v = jobView(j);
          return (
            <View key={j.id} testID={`batch-${j.id}`} style={{ gap: 4, marginBottom: 8 }}>
              <Body>
                {j.id.slice(0, 8)} · {v.status} · {v.progress}
              </Body>
              {!v.finished && <ProgressBar label={`batch ${j.id.slice(0, 8)} progress`} fraction={v.fraction} />}
              {v.failed ? <Failure job={j} /> : null}
            </View>
          );
        })}
      </Card>
    </Screen>
  );
}
