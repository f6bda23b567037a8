import { describe, expect, it } from 'vitest';
import type { CryptoPrediction } from '../api/types';
import { change, changeText, directionNote, headsAgree, riseChance, withModelDetails } from './crypto';

const p = (over: Partial<CryptoPrediction> = {}): CryptoPrediction => ({
  symbol: 'BTC/USDT', interval: '1h', horizon: 1, as_of: '2024-01-01T00:00:00', target_time: '2024-01-01T02:00:00',
  last_close: 100, predicted_return: 0.0012, predicted_close: 100.12, prob_up: 0.47, direction: 'up', model_version: '1', ...over,
});

describe('crypto direction helpers', () => {
  it('flags a disagreement between the return forecast and the up/down classifier', () => {
    expect(headsAgree(p())).toBe(false);
    expect(directionNote(p())).toBe(
      'The two forecasts disagree: the return forecast says up (+0.12%), but the up/down classifier gives a 47% chance of a rise. Treat the direction as uncertain.',
    );
    expect(changeText(p())).toBe('+0.12% (up)');
    expect(riseChance(p())).toBe('47%');
    // newer servers: `direction` is the up/down head's, `return_direction` the return head's
    expect(changeText(p({ direction: 'down', return_direction: 'up' }))).toBe('+0.12% (up)');
  });

  it('shows no note when the heads agree, and the server note when it sends one', () => {
    expect(headsAgree(p({ prob_up: 0.6 }))).toBe(true);
    expect(directionNote(p({ prob_up: 0.6 }))).toBeNull();
    expect(headsAgree(p({ heads_agree: true }))).toBe(true);
    expect(headsAgree(p({ prob_up: null }))).toBeNull();
    expect(directionNote(p({ direction_note: 'Weak signal' }))).toBe('Weak signal');
    expect(change(p({ predicted_return: -0.02 }))).toBe('-1.98%');
    expect(change(p({ predicted_return: 0.0001 }))).toBe('+0.010%');
    expect(change(p({ predicted_return: null }))).toBe('—');
  });

  it('takes the model details of a stored prediction from the fetched latest', () => {
    const latest = p({ as_of: '2024-01-01T00:00:00', model: { name: 'm', version: 3 }, skill: 'none' });
    const stored = p({ as_of: '2024-01-01T01:00:00', last_close: 101 });
    const shown = withModelDetails(stored, latest);
    expect(shown?.as_of).toBe('2024-01-01T01:00:00');
    expect(shown?.last_close).toBe(101);
    expect(shown?.model?.version).toBe(3);
    expect(shown?.skill).toBe('none');
    expect(withModelDetails(null, latest)).toBeNull();
    expect(withModelDetails(latest, undefined)).toBe(latest);
  });
});
