import { change, directionNote, headsAgree, type CryptoPrediction } from '@armillary/shared';
import { render, screen } from '@testing-library/react';
import { Provider } from 'react-redux';
import { describe, expect, it } from 'vitest';
import { makeStore } from '../store';
import { ImportCandles, Latest } from './CryptoPage';

const p = (over: Partial<CryptoPrediction> = {}): CryptoPrediction => ({
  symbol: 'BTC/USDT', interval: '1h', horizon: 1, as_of: '2024-01-01T00:00:00', target_time: '2024-01-01T02:00:00',
  last_close: 100, predicted_return: 0.0012, predicted_close: 100.12, prob_up: 0.47, direction: 'up', model_version: '1', ...over,
});

describe('crypto direction', () => {
  it('states both forecasts with their meaning and flags a disagreement', () => {
    render(<Latest p={p()} />);
    expect(screen.getByText('+0.12% (up)')).toBeInTheDocument();
    expect(screen.getByText('47%')).toBeInTheDocument();
    expect(screen.getByText(/from the model's return forecast; the chance of a rise from its separate/)).toBeInTheDocument();
    expect(screen.getByTestId('direction-note')).toHaveTextContent('The two forecasts disagree: the return forecast says up (+0.12%), but the up/down classifier gives a 47% chance of a rise');
  });

  it('shows no note when the heads agree, and the server note when it sends one', () => {
    expect(headsAgree(p({ prob_up: 0.6 }))).toBe(true);
    expect(directionNote(p({ prob_up: 0.6 }))).toBeNull();
    expect(headsAgree(p({ heads_agree: true }))).toBe(true);
    expect(directionNote(p({ direction_note: 'Weak signal' }))).toBe('Weak signal');
    render(<Latest p={p({ prob_up: 0.6, direction_note: 'Weak signal: both heads say up' })} />);
    expect(screen.getByTestId('direction-note')).toHaveTextContent('Weak signal: both heads say up');
    expect(change(p({ predicted_return: -0.02 }))).toBe('-1.98%');
    expect(change(p({ predicted_return: null }))).toBe('—');
  });
});

describe('ImportCandles', () => {
  const wrap = (canImport: boolean) => {
    const { store } = makeStore('http://api.invalid', window.sessionStorage);
    render(
      <Provider store={store}>
        <ImportCandles symbol="BTC-USDT" canImport={canImport} onImported={() => undefined} />
      </Provider>,
    );
  };
  it('offers the import to staff', () => {
    wrap(true);
    expect(screen.getByTestId('needs-candles')).toHaveTextContent('No BTC/USDT candles are stored yet');
    expect(screen.getByRole('button', { name: 'Import candles' })).toBeDisabled();
  });
  it('tells a viewer whom to ask', () => {
    wrap(false);
    expect(screen.getByText(/Ask an analyst or admin/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Import candles' })).toBeNull();
  });
});
