import { jobFailure } from '@armillary/shared';
import { Box, Button, Collapse, Typography } from '@mui/material';
import { useId, useState } from 'react';

/** Why a job failed: the server's sentence for a person, and the recorded error behind it on
 * demand (see `jobFailure` in the shared package). */
export function JobFailure({ job }: { job: { reason?: unknown; detail?: unknown; error?: unknown } }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  const { reason, detail } = jobFailure(job);
  return (
    <Box data-testid="job-failure">
      <Typography variant="body2" component="span">
        {reason}
      </Typography>
      {detail && (
        <>
          {' '}
          <Button size="small" sx={{ minWidth: 0, p: 0, verticalAlign: 'baseline' }} aria-expanded={open} aria-controls={id} onClick={() => setOpen((o) => !o)}>
            {open ? 'Hide details' : 'Details'}
          </Button>
          <Collapse in={open} unmountOnExit>
            <Box
              component="pre"
              id={id}
              data-testid="job-failure-detail"
              sx={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word', fontSize: 12, bgcolor: 'grey.100', p: 1, mt: 0.5, mb: 0, borderRadius: 1 }}
            >
              {detail}
            </Box>
          </Collapse>
        </>
      )}
    </Box>
  );
}
