import {
  fetchBaseQuery,
  type BaseQueryFn,
  type FetchArgs,
  type FetchBaseQueryError,
} from '@reduxjs/toolkit/query';
import { selectSession, type WithAuth } from '../auth/authSlice';
import type { ThunkExtra } from '../auth/client';

/** fetchBaseQuery with the bearer token, a refresh shortly before expiry, and one retry after
 * a 401 once the (shared, serialized) refresh has produced a new access token. */
export const authedBaseQuery: BaseQueryFn<string | FetchArgs, unknown, FetchBaseQueryError> = async (
  args,
  api,
  extraOptions,
) => {
  const { client } = api.extra as ThunkExtra;
  const getState = api.getState as () => WithAuth;
  const run = (token: string | null) =>
    fetchBaseQuery({
      baseUrl: client.baseUrl,
      fetchFn: client.getFetch(),
      prepareHeaders: (headers) => {
        if (token) headers.set('Authorization', `Bearer ${token}`);
        headers.set('Accept', 'application/json');
        return headers;
      },
    })(args, api, extraOptions);

  const token = await client.accessToken(getState, api.dispatch);
  let result = await run(token);
  if (result.error?.status === 401 && token) {
    const session = await client.refresher.refresh(getState, api.dispatch, token);
    if (session && session.accessToken !== token) {
      result = await run(session.accessToken);
    } else if (!selectSession(getState())) {
      return result;
    }
  }
  return result;
};
