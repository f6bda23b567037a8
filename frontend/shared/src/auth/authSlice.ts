import { createSlice, type PayloadAction } from '@reduxjs/toolkit';
import type { Me, Role, TokenResponse } from '../api/types';

/** Tokens of a signed-in user; `expiresAt` is the access token's expiry (ms since epoch). */
export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

export interface AuthState {
  session: Session | null;
  user: Me | null;
  /** Why the user was signed out (shown on the login page), if not by choice. */
  notice: string | null;
}

export const initialAuthState: AuthState = { session: null, user: null, notice: null };

export function sessionFromTokens(tokens: TokenResponse, now: number): Session {
  return {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    expiresAt: now + tokens.expires_in * 1000,
  };
}

export const authSlice = createSlice({
  name: 'auth',
  initialState: initialAuthState,
  reducers: {
    signedIn(state, action: PayloadAction<{ session: Session; user: Me }>) {
      state.session = action.payload.session;
      state.user = action.payload.user;
      state.notice = null;
    },
    sessionRefreshed(state, action: PayloadAction<Session>) {
      if (state.session) state.session = action.payload;
    },
    userLoaded(state, action: PayloadAction<Me>) {
      state.user = action.payload;
    },
    signedOut(state, action: PayloadAction<string | undefined>) {
      state.session = null;
      state.user = null;
      state.notice = action.payload ?? null;
    },
  },
});

export const { signedIn, sessionRefreshed, userLoaded, signedOut } = authSlice.actions;

export interface WithAuth {
  auth: AuthState;
}

export const selectSession = (s: WithAuth): Session | null => s.auth.session;
export const selectUser = (s: WithAuth): Me | null => s.auth.user;
export const selectRole = (s: WithAuth): Role | null => s.auth.user?.role ?? null;
export const selectNotice = (s: WithAuth): string | null => s.auth.notice;

/** What each role may do, mirroring the ingress's route roles. */
export const can = {
  admin: (role: Role | null) => role === 'admin',
  analyse: (role: Role | null) => role === 'admin' || role === 'analyst',
  importCandles: (role: Role | null) => role === 'admin' || role === 'analyst' || role === 'researcher',
};
