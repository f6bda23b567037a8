// API data is text, never markup: an OCR text, an extracted field, a file name and a
// customer name carrying HTML render as the literal characters, and no element they
// describe reaches the document.
import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { DataTable } from '../components/DataTable';
import { DocumentView } from './OcrPage';

const SCRIPT = '<script>window.__pwned = 1</script>';
const IMG = '<img src=x onerror="window.__pwned = 2">';

function noInjectedElements(container: HTMLElement) {
  expect(container.querySelector('script')).toBeNull();
  expect(container.querySelector('img[onerror]')).toBeNull();
  expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
}

describe('API data is rendered as text', () => {
  it('OCR text, fields and file name', () => {
    const { container } = render(
      <DocumentView
        doc={{
          id: 'd1',
          filename: `receipt${IMG}.png`,
          status: 'succeeded',
          pages: 1,
          text: `TOTAL 12.50 ${SCRIPT}`,
          fields: { receipt: { vendor: SCRIPT, total: IMG } },
        }}
      />,
    );
    expect(screen.getByTestId('ocr-text')).toHaveTextContent(`TOTAL 12.50 ${SCRIPT}`);
    expect(container.textContent).toContain(`receipt${IMG}.png`);
    expect(screen.getByTestId('fields-receipt')).toHaveTextContent(SCRIPT);
    noInjectedElements(container);
  });

  it('a customer name in a table', () => {
    const { container } = render(
      <DataTable
        label="customers"
        rows={[{ customer_id: 'c1', name: SCRIPT }, { customer_id: 'c2', name: IMG }]}
        columns={['customer_id', 'name']}
      />,
    );
    expect(container.textContent).toContain(SCRIPT);
    expect(container.textContent).toContain(IMG);
    noInjectedElements(container);
  });
});
