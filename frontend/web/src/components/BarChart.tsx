import { Box, Typography } from '@mui/material';

/** Horizontal bars (label, value): segment sizes, budget splits. */
export function BarChart({
  data,
  label,
  format = (v) => v.toLocaleString(),
  color = '#1f4e79',
}: {
  data: { label: string; value: number }[];
  label: string;
  format?: (v: number) => string;
  color?: string;
}) {
  const max = Math.max(0, ...data.map((d) => d.value));
  return (
    <Box role="img" aria-label={label} sx={{ display: 'grid', gap: 0.75 }}>
      {data.map((d) => (
        <Box key={d.label} sx={{ display: 'grid', gridTemplateColumns: 'minmax(80px, 30%) 1fr auto', gap: 1, alignItems: 'center' }}>
          <Typography variant="body2" noWrap title={d.label}>
            {d.label}
          </Typography>
          <Box sx={{ bgcolor: 'grey.200', height: 14, borderRadius: 1, overflow: 'hidden' }}>
            <Box sx={{ width: `${max > 0 ? (Math.max(0, d.value) / max) * 100 : 0}%`, height: '100%', bgcolor: color }} />
          </Box>
          <Typography variant="body2" sx={{ fontVariantNumeric: 'tabular-nums' }}>
            {format(d.value)}
          </Typography>
        </Box>
      ))}
    </Box>
  );
}
