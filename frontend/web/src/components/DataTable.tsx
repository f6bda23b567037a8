import { cellText } from '@armillary/shared';
import { Box, Table, TableBody, TableCell, TableContainer, TableHead, TableRow, Typography } from '@mui/material';

/** The bold, unwrapped column names of a table. */
export function HeaderRow({ columns }: { columns: string[] }) {
  return (
    <TableHead>
      <TableRow>
        {columns.map((c) => (
          <TableCell key={c} sx={{ fontWeight: 600, whiteSpace: 'nowrap' }}>
            {c}
          </TableCell>
        ))}
      </TableRow>
    </TableHead>
  );
}

/** Rows of objects as a table; columns default to the keys of the first rows. */
export function DataTable({
  rows,
  columns,
  empty = 'Nothing yet',
  label,
}: {
  rows: Record<string, unknown>[];
  columns?: string[];
  empty?: string;
  label: string;
}) {
  if (!rows.length) return <Typography color="text.secondary">{empty}</Typography>;
  const cols = columns ?? Array.from(new Set(rows.slice(0, 20).flatMap((r) => Object.keys(r))));
  return (
    <TableContainer component={Box} sx={{ overflowX: 'auto', maxWidth: '100%' }}>
      <Table size="small" aria-label={label}>
        <HeaderRow columns={cols} />
        <TableBody>
          {rows.map((r, i) => (
            <TableRow key={i}>
              {cols.map((c) => (
                <TableCell key={c} sx={{ maxWidth: 320, overflow: 'hidden', textOverflow: 'ellipsis' }}>
                  {cellText(r[c])}
                </TableCell>
              ))}
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
}
