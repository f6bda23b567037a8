import { createAsyncThunk } from '@reduxjs/toolkit';
import { armillaryApi } from '../api/api';
import { errorMessage } from '../api/errors';
import type { Me, TokenResponse } from '../api/types';
import { selectSession, sessionFromTokens, signedIn, signedOut, type WithAuth } from './authSlice';
import type { ThunkExtra } from './client';

async function readError(response: Response): Promise<string> {
  let data: unknown;
  try {
    data = await response.json();
  } catch {
    data = undefined;
  }
  return errorMessage({ status: response.status, data });
}

/** OAuth2 password flow: form-encoded username/password for tokens, then who-am-I. */
export const login = createAsyncThunk<Me, { username: string; password: string }, { extra: ThunkExtra; rejectValue: string }>(
  'auth/login',
  async ({ username, password }, { extra, dispatch, rejectWithValue }) => {
    const { client } = extra;
    let response: Response;
    try {
      response = await client.fetch('/api/v1/auth/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'password', username, password }).toString(),
      });
    } catch {
      return rejectWithValue('Cannot reach the server; check your connection');
    }
    if (!response.ok) {
      return rejectWithValue(response.status === 401 ? 'Wrong username or password' : await readError(response));
    }
    const session = sessionFromTokens((await response.json()) as TokenResponse, client.now());
    const me = await client.fetch('/api/v1/auth/me', {
      headers: { Authorization: `Bearer ${session.accessToken}`, Accept: 'application/json' },
    });
    if (!me.ok) return rejectWithValue(await readError(me));
    const user = (await me.json()) as Me;
    dispatch(armillaryApi.util.resetApiState());
    dispatch(signedIn({ session, user }));
    return user;
  },
);

/** Revoke the session on the server (best effort) and forget it here. */
export const logout = createAsyncThunk<void, void, { extra: ThunkExtra; state: WithAuth }>(
  'auth/logout',
  async (_, { extra, getState, dispatch }) => {
    const session = selectSession(getState());
    if (session) {
      try {
        await extra.client.fetch('/api/v1/auth/logout', {
          method: 'POST',
          headers: { Authorization: `Bearer ${session.accessToken}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ refresh_token: session.refreshToken }),
        });
      } catch {
        // signed out locally anyway
      }
    }
    dispatch(signedOut());
    dispatch(armillaryApi.util.resetApiState());
  },
);
