import { Box, Button, Collapse, Typography } from '@mui/material';
import { useId, useState } from 'react';

/** Why a job failed: the server's sentence for a person (`reason`), and the recorded error
 * behind it (`detail`) on demand. Older servers send only `error`: it is shown as the reason. */
export function JobFailure({ reason, detail, error }: { reason?: unknown; detail?: unknown; error?: unknown }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  const text = typeof reason === 'string' && reason ? reason : typeof error === 'string' && error ? error : 'The job failed.';
  const more = typeof detail === 'string' && detail && detail !== text ? detail : null;
  return (
    <Box data-testid="job-failure">
      <Typography variant="body2" component="span">
        {text}
      </Typography>
      {more && (
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
              {more}
            </Box>
          </Collapse>
        </>
      )}
    </Box>
  );
}
