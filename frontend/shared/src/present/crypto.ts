import type { CryptoHistory, CryptoPrediction } from '../api/types';
import { pct } from './format';

/** Crypto display helpers shared by the web page and the mobile screen (plain strings). */

/** The predicted change over the horizon, from the predicted log return ('+0.12%'). */
export function change(p: Pick<CryptoPrediction, 'predicted_return'>): string {
  if (typeof p.predicted_return !== 'number') return '—';
  const c = Math.expm1(p.predicted_return) * 100;
  return `${c >= 0 ? '+' : ''}${c.toFixed(c !== 0 && Math.abs(c) < 0.1 ? 3 : 2)}%`;
}

/** The return forecast's direction: the server's `return_direction`, else the sign of the
 * predicted return (older servers' `direction` was that sign). */
export function returnDirection(p: CryptoPrediction): string {
  if (p.return_direction) return p.return_direction;
  if (typeof p.predicted_return !== 'number') return p.direction;
  return p.predicted_return > 0 ? 'up' : p.predicted_return < 0 ? 'down' : 'flat';
}

/** Whether the return forecast and the up/down classifier point the same way (null when
 * unknown); the server's `heads_agree` wins when it sends one. */
export function headsAgree(p: CryptoPrediction): boolean | null {
  if (typeof p.heads_agree === 'boolean') return p.heads_agree;
  if (typeof p.predicted_return !== 'number' || typeof p.prob_up !== 'number') return null;
  return p.predicted_return > 0 === p.prob_up > 0.5;
}

/** One sentence on the direction: the server's `direction_note`, else ours when the heads disagree. */
export function directionNote(p: CryptoPrediction): string | null {
  if (p.direction_note) return p.direction_note;
  if (headsAgree(p) !== false) return null;
  return (
    `The two forecasts disagree: the return forecast says ${returnDirection(p)} (${change(p)}), ` +
    `but the up/down classifier gives a ${pct(p.prob_up, 0)} chance of a rise. Treat the direction as uncertain.`
  );
}

/** What the two figures of a prediction come from (shown under them). */
export const DIRECTION_SOURCES =
  "Predicted change and its direction come from the model's return forecast; the chance of a rise from its separate up/down classifier.";

/** '+0.12% (up)': the predicted change with the return forecast's direction. */
export const changeText = (p: CryptoPrediction): string => `${change(p)} (${returnDirection(p)})`;

/** The chance of a rise as a whole percentage ('47%'). */
export const riseChance = (p: CryptoPrediction): string => pct(p.prob_up, 0);

/** The newest prediction to show: a stored one (from the history) carries no model details,
 * so they are taken from the fetched latest. */
export function withModelDetails(last: CryptoPrediction | null, latest: CryptoPrediction | undefined): CryptoPrediction | null {
  if (!last || !latest || last.model) return last;
  return { ...latest, ...last, model: latest.model, skill: last.skill ?? latest.skill, note: last.note ?? latest.note };
}

/** Whether the stored history shows that no candles are stored for the symbol. */
export const historyEmpty = (h: CryptoHistory | undefined): boolean => !!h && h.candles.length === 0;

/** '/'-form of a page symbol ('BTC-USDT' -> 'BTC/USDT'). */
export const pairName = (symbol: string): string => symbol.replace('-', '/');
