import type { Job } from '@armillary/shared';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { JobFailure } from '../components/JobFailure';
import { BatchJobs } from './OcrPage';

const REASON = 'The worker was stopped (signal 15, SIGTERM) before the job finished; it was not retried.';

describe('JobFailure', () => {
  it('shows the reason and the recorded error only on demand', async () => {
    render(<JobFailure job={{ reason: REASON, detail: 'SystemExit: 15', error: 'SystemExit: 15' }} />);
    expect(screen.getByText(REASON)).toBeInTheDocument();
    expect(screen.queryByText('SystemExit: 15')).toBeNull();
    const toggle = screen.getByRole('button', { name: 'Details' });
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await userEvent.click(toggle);
    expect(screen.getByTestId('job-failure-detail')).toHaveTextContent('SystemExit: 15');
    expect(screen.getByRole('button', { name: 'Hide details' })).toHaveAttribute('aria-expanded', 'true');
  });

  it('has no details button when the reason says it all, and falls back to the error', () => {
    const { rerender } = render(<JobFailure job={{ reason: 'The uploaded file has no rows.', detail: null }} />);
    expect(screen.queryByRole('button')).toBeNull();
    rerender(<JobFailure job={{ error: "an old server's error" }} />);
    expect(screen.getByText("an old server's error")).toBeInTheDocument();
    rerender(<JobFailure job={{}} />);
    expect(screen.getByText('The job failed.')).toBeInTheDocument();
  });
});

describe('BatchJobs', () => {
  const job = (over: Partial<Job>): Job => ({ id: 'abcdef0123456789', status: 'running', done: 3, total: 10, created_at: 1_700_000_000, ...over });

  it('lists jobs with a readable failure and never the raw exception as the message', () => {
    render(
      <BatchJobs
        jobs={[
          job({ id: 'failed000000', status: 'failed', error: 'SystemExit: 15', reason: REASON, detail: 'SystemExit: 15' }),
          job({ id: 'running00000' }),
          job({ id: 'done00000000', status: 'succeeded', done: 10 }),
        ]}
      />,
    );
    const failed = screen.getByTestId('batch-failed000000');
    expect(within(failed).getByText(REASON)).toBeInTheDocument();
    expect(within(failed).queryByText(/SystemExit/)).toBeNull();
    expect(within(screen.getByTestId('batch-running00000')).getByText('3 / 10')).toBeInTheDocument();
    expect(within(screen.getByTestId('batch-done00000000')).getByText('done')).toBeInTheDocument();
  });

  it('says how to start a batch when there is none', () => {
    render(<BatchJobs jobs={[]} />);
    expect(screen.getByText(/armillary ocr batch SRC OUT/)).toBeInTheDocument();
  });
});
