import { createContext, useContext, type ReactNode } from 'react';
import { useColorScheme, useWindowDimensions } from 'react-native';

export interface Palette {
  scheme: 'light' | 'dark';
  background: string;
  card: string;
  text: string;
  muted: string;
  border: string;
  primary: string;
  onPrimary: string;
  tones: Record<Tone, { bg: string; fg: string }>;
}

export type Tone = 'info' | 'success' | 'warning' | 'error';

const light: Palette = {
  scheme: 'light',
  background: '#f3f5f8',
  card: '#ffffff',
  text: '#111418',
  muted: '#4f5863',
  border: '#d3d8de',
  primary: '#1f4e79',
  onPrimary: '#ffffff',
  tones: {
    info: { bg: '#e3effb', fg: '#0b3a66' },
    success: { bg: '#e4f4e6', fg: '#1b5e20' },
    warning: { bg: '#fff3d6', fg: '#6b4500' },
    error: { bg: '#fde7e7', fg: '#8c1d18' },
  },
};

const dark: Palette = {
  scheme: 'dark',
  background: '#0f1216',
  card: '#1a1f26',
  text: '#eef1f4',
  muted: '#a9b3be',
  border: '#323a44',
  primary: '#8cb8e6',
  onPrimary: '#0b1a2a',
  tones: {
    info: { bg: '#13283d', fg: '#bcd9f5' },
    success: { bg: '#16301a', fg: '#b7e3bb' },
    warning: { bg: '#3a2c0b', fg: '#f3d58f' },
    error: { bg: '#3d1614', fg: '#f6bcb8' },
  },
};

const ThemeContext = createContext<Palette>(light);

/** The system's light/dark setting (or `scheme` when given, in tests). */
export function ThemeProvider({ scheme, children }: { scheme?: 'light' | 'dark'; children: ReactNode }) {
  const system = useColorScheme();
  const chosen = scheme ?? (system === 'dark' ? 'dark' : 'light');
  return <ThemeContext.Provider value={chosen === 'dark' ? dark : light}>{children}</ThemeContext.Provider>;
}

export const useTheme = (): Palette => useContext(ThemeContext);

/** True when the user chose a large text size: layouts stack instead of sitting side by side. */
export function useLargeText(): boolean {
  return useWindowDimensions().fontScale >= 1.3;
}
