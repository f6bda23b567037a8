import { fireEvent, screen, waitFor } from '@testing-library/react-native';
import { fixedImages, renderApp, type Req } from '../test/harness';

const receipt = {
  id: 'd1', filename: 'receipt.png', status: 'succeeded', pages: 1, mean_confidence: 88.04,
  text: 'CORNER SHOP\nTOTAL 12.50', fields: { receipt: { vendor: 'CORNER SHOP', total: '12.50' } },
};

describe('documents screen', () => {
  it('uploads a chosen photo and shows its text and extracted total', async () => {
    const uploads: Req[] = [];
    await renderApp({
      role: 'analyst',
      routes: {
        'GET /api/v1/ocr/documents': [],
        'GET /api/v1/ocr/batches': [],
        'POST /api/v1/ocr/documents': (r: Req) => {
          uploads.push(r);
          return receipt;
        },
        'GET /api/v1/ocr/documents/d1': receipt,
      },
    });
    await fireEvent.press(screen.getByRole('tab', { name: 'OCR' }));
    expect(await screen.findByText('No documents yet')).toBeOnTheScreen();
    expect(await screen.findByText('No batch jobs')).toBeOnTheScreen();
    await fireEvent.press(screen.getByRole('button', { name: 'Choose photo' }));
    expect(await screen.findByTestId('picked-name')).toHaveTextContent('receipt.png');
    await fireEvent.press(screen.getByRole('button', { name: 'Recognise' }));
    expect(await screen.findByTestId('field-receipt-total')).toHaveTextContent(/12\.50/);
    expect(screen.getByTestId('ocr-text')).toHaveTextContent(/CORNER SHOP/);
    const file = uploads[0].form?.get('file') as File;
    expect(file.name).toBe('receipt.png');
    expect(uploads[0].query.get('async')).toBeNull();
  });

  it('runs an upload as a job with progress, and lists batch jobs', async () => {
    let polls = 0;
    await renderApp({
      role: 'admin',
      routes: {
        'GET /api/v1/ocr/documents': [{ id: 'd0', filename: 'old.pdf', status: 'succeeded', pages: 3 }],
        'GET /api/v1/ocr/batches': [{ id: 'batch-0001-xyz', status: 'running', done: 2, total: 8 }],
        'POST /api/v1/ocr/documents': { status: 202, body: { job_id: 'job-1234-abcd', document_id: 'd1' } },
        'GET /api/v1/jobs/job-1234-abcd': () => (++polls < 2 ? { id: 'job-1234-abcd', status: 'running', done: 1, total: 2 } : { id: 'job-1234-abcd', status: 'succeeded', done: 2, total: 2 }),
        'GET /api/v1/ocr/documents/d1': { ...receipt, status: 'succeeded' },
      },
    });
    await fireEvent.press(screen.getByRole('tab', { name: 'OCR' }));
    expect(await screen.findByText('old.pdf')).toBeOnTheScreen();
    expect(await screen.findByText(/batch-00 · running · 2 \/ 8/)).toBeOnTheScreen();
    await fireEvent.press(screen.getByRole('button', { name: 'Take photo' }));
    await fireEvent(screen.getByLabelText('Run as a job'), 'valueChange', true);
    await fireEvent.press(screen.getByRole('button', { name: 'Recognise' }));
    expect(await screen.findByTestId('job-progress')).toBeOnTheScreen();
    await waitFor(() => expect(screen.getByTestId('job-status')).toHaveTextContent('succeeded'), { timeout: 5000 });
    expect(await screen.findByTestId('field-receipt-total')).toBeOnTheScreen();
  });

  it('shows a refused camera and a failed upload as errors', async () => {
    await renderApp({
      role: 'analyst',
      images: fixedImages(null, 'Camera permission was refused; allow it in Settings to take photos.'),
      routes: { 'GET /api/v1/ocr/documents': { status: 500, body: { detail: 'store down', request_id: 'q9' } }, 'GET /api/v1/ocr/batches': [] },
    });
    await fireEvent.press(screen.getByRole('tab', { name: 'OCR' }));
    expect(await screen.findByText('store down (request q9)')).toBeOnTheScreen();
    await fireEvent.press(screen.getByRole('button', { name: 'Take photo' }));
    expect(await screen.findByText(/Camera permission was refused/)).toBeOnTheScreen();
    expect(screen.getByRole('button', { name: 'Recognise' })).toBeDisabled();
  });

  it('is not offered to viewers', async () => {
    await renderApp({ role: 'viewer' });
    expect(screen.queryByRole('tab', { name: 'OCR' })).toBeNull();
  });
});
