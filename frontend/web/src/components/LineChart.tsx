import { Box, Typography } from '@mui/material';

export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
  dashed?: boolean;
  dots?: boolean;
}

/** A small responsive SVG line chart (no chart library: the app stays light). */
export function LineChart({
  series,
  height = 240,
  formatX = (x) => new Date(x).toISOString().slice(5, 16).replace('T', ' '),
  formatY = (y) => y.toFixed(2),
  label,
}: {
  series: Series[];
  height?: number;
  formatX?: (x: number) => string;
  formatY?: (y: number) => string;
  label: string;
}) {
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (all.length === 0) {
    return (
      <Typography color="text.secondary" sx={{ py: 4, textAlign: 'center' }}>
        No data yet
      </Typography>
    );
  }
  const W = 800;
  const H = height;
  const pad = { l: 64, r: 12, t: 10, b: 28 };
  let [x0, x1] = [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))];
  let [y0, y1] = [Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - Math.abs(y0 || 1) * 0.01, y1 + Math.abs(y1 || 1) * 0.01];
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const sy = (y: number) => H - pad.b - ((y - y0) / (y1 - y0)) * (H - pad.t - pad.b);
  const ticks = [0, 0.5, 1];
  return (
    <Box sx={{ width: '100%' }}>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={label} preserveAspectRatio="none" style={{ display: 'block', height: 'auto' }}>
        {ticks.map((t) => {
          const y = y0 + t * (y1 - y0);
          return (
            <g key={`y${t}`}>
              <line x1={pad.l} x2={W - pad.r} y1={sy(y)} y2={sy(y)} stroke="#ddd" />
              <text x={pad.l - 6} y={sy(y) + 4} fontSize="12" textAnchor="end" fill="#555">
                {formatY(y)}
              </text>
            </g>
          );
        })}
        {ticks.map((t) => {
          const x = x0 + t * (x1 - x0);
          return (
            <text key={`x${t}`} x={sx(x)} y={H - 8} fontSize="12" textAnchor={t === 0 ? 'start' : t === 1 ? 'end' : 'middle'} fill="#555">
              {formatX(x)}
            </text>
          );
        })}
        {series.map((s) => {
          const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
          return (
            <g key={s.name}>
              {pts.length > 1 && (
                <polyline
                  fill="none"
                  stroke={s.color}
                  strokeWidth={2}
                  strokeDasharray={s.dashed ? '6 4' : undefined}
                  points={pts.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' ')}
                />
              )}
              {(s.dots || pts.length === 1) &&
                pts.map((p) => <circle key={`${s.name}${p.x}`} cx={sx(p.x)} cy={sy(p.y)} r={3.5} fill={s.color} />)}
            </g>
          );
        })}
      </svg>
      <Box sx={{ display: 'flex', gap: 2, flexWrap: 'wrap', mt: 0.5 }}>
        {series.map((s) => (
          <Typography key={s.name} variant="caption" sx={{ display: 'flex', alignItems: 'center', gap: 0.5 }}>
            <Box component="span" sx={{ width: 14, height: 3, bgcolor: s.color, display: 'inline-block' }} />
            {s.name}
          </Typography>
        ))}
      </Box>
    </Box>
  );
}
