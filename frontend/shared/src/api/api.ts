import { createApi } from '@reduxjs/toolkit/query/react';
import { authedBaseQuery } from './baseQuery';
import type {
  AllocationRequest,
  ApiKey,
  AuditEntry,
  Backtest,
  CreatedApiKey,
  CryptoHistory,
  CryptoPrediction,
  Job,
  JobStarted,
  Me,
  NewUser,
  OcrDocument,
  OcrDocumentSummary,
  OcrStarted,
  Readiness,
  Report,
  Role,
  SampleStarted,
  Segments,
  TargetingRequest,
  User,
} from './types';

const enc = encodeURIComponent;

/** The ingress API. Uploads take a FormData (available in browsers and React Native). */
export const armillaryApi = createApi({
  reducerPath: 'api',
  baseQuery: authedBaseQuery,
  tagTypes: ['Users', 'ApiKeys', 'Audit', 'Reports', 'OcrDocuments'],
  endpoints: (b) => ({
    me: b.query<Me, void>({ query: () => '/api/v1/auth/me' }),
    ready: b.query<Readiness, void>({
      // 503 with a body still says which stores are down
      query: () => ({ url: '/ready', validateStatus: (r) => r.status === 200 || r.status === 503 }),
    }),

    users: b.query<User[], void>({ query: () => '/api/v1/users', providesTags: ['Users'] }),
    createUser: b.mutation<User, NewUser>({
      query: (body) => ({ url: '/api/v1/users', method: 'POST', body }),
      invalidatesTags: ['Users', 'Audit'],
    }),
    changeUser: b.mutation<User, { id: string; role?: Role; disabled?: boolean }>({
      query: ({ id, ...body }) => ({ url: `/api/v1/users/${enc(id)}`, method: 'PATCH', body }),
      invalidatesTags: ['Users', 'Audit'],
    }),
    apiKeys: b.query<ApiKey[], void>({ query: () => '/api/v1/apikeys', providesTags: ['ApiKeys'] }),
    createApiKey: b.mutation<CreatedApiKey, { name: string; role: Role }>({
      query: (body) => ({ url: '/api/v1/apikeys', method: 'POST', body }),
      invalidatesTags: ['ApiKeys', 'Audit'],
    }),
    revokeApiKey: b.mutation<void, string>({
      query: (id) => ({ url: `/api/v1/apikeys/${enc(id)}`, method: 'DELETE' }),
      invalidatesTags: ['ApiKeys', 'Audit'],
    }),
    audit: b.query<AuditEntry[], { limit?: number; actor?: string }>({
      query: ({ limit = 100, actor }) => ({
        url: '/api/v1/audit',
        params: actor ? { limit, actor } : { limit },
      }),
      providesTags: ['Audit'],
    }),

    job: b.query<Job, string>({ query: (id) => `/api/v1/jobs/${enc(id)}` }),

    prediction: b.query<CryptoPrediction, { symbol: string; horizon?: number }>({
      query: ({ symbol, horizon }) => ({
        url: `/api/v1/crypto/${enc(symbol)}/prediction`,
        params: horizon ? { horizon } : undefined,
      }),
    }),
    cryptoHistory: b.query<CryptoHistory, { symbol: string; limit?: number }>({
      query: ({ symbol, limit = 200 }) => ({ url: `/api/v1/crypto/${enc(symbol)}/history`, params: { limit } }),
    }),
    importCandles: b.mutation<Record<string, unknown>, FormData>({
      query: (body) => ({ url: '/api/v1/crypto/candles/import', method: 'POST', body }),
    }),
    backtest: b.query<Backtest, { symbol: string; horizon?: number }>({
      query: ({ symbol, horizon }) => ({
        url: `/api/v1/crypto/${enc(symbol)}/backtest`,
        params: horizon ? { horizon } : undefined,
      }),
    }),

    ocrUpload: b.mutation<OcrDocument | OcrStarted, { body: FormData; async?: boolean }>({
      query: ({ body, async: runAsync }) => ({
        url: '/api/v1/ocr/documents',
        method: 'POST',
        body,
        params: runAsync ? { async: 'true' } : undefined,
      }),
      invalidatesTags: ['OcrDocuments'],
    }),
    ocrDocuments: b.query<OcrDocumentSummary[], void>({ query: () => '/api/v1/ocr/documents', providesTags: ['OcrDocuments'] }),
    ocrDocument: b.query<OcrDocument, string>({ query: (id) => `/api/v1/ocr/documents/${enc(id)}` }),
    ocrBatches: b.query<Job[], void>({ query: () => '/api/v1/ocr/batches' }),

    importTransactions: b.mutation<JobStarted, FormData>({
      query: (body) => ({ url: '/api/v1/analytics/imports', method: 'POST', body }),
    }),
    /** Sample transactions to try the analytics with: the real Online Retail invoices
     * where the suite has the shared data, else synthetic ones (`synthetic`, `source`). */
    importSample: b.mutation<SampleStarted, { table?: string } | void>({
      query: (body) => ({ url: '/api/v1/analytics/imports/sample', method: 'POST', body: body ?? {} }),
    }),
    // no dataset_id: the caller's latest import (else the `transactions` table)
    segments: b.query<Segments, { dataset_id?: string }>({
      query: ({ dataset_id }) => ({ url: '/api/v1/analytics/segments', params: dataset_id ? { dataset_id } : undefined }),
    }),
    customerSegment: b.query<Record<string, unknown>, { id: string; dataset_id?: string }>({
      query: ({ id, dataset_id }) => ({
        url: `/api/v1/analytics/customers/${enc(id)}/segment`,
        params: dataset_id ? { dataset_id } : undefined,
      }),
    }),
    customerClv: b.query<Record<string, unknown>, { id: string }>({
      query: ({ id }) => `/api/v1/analytics/customers/${enc(id)}/clv`,
    }),
    targeting: b.mutation<Record<string, unknown>, TargetingRequest>({
      query: (body) => ({ url: '/api/v1/analytics/uplift/targeting', method: 'POST', body }),
    }),
    allocation: b.mutation<Record<string, unknown>, AllocationRequest>({
      query: (body) => ({ url: '/api/v1/analytics/allocation', method: 'POST', body }),
    }),
    analyticsModels: b.query<Record<string, unknown>, void>({ query: () => '/api/v1/analytics/models' }),
    reports: b.query<Report[], void>({ query: () => '/api/v1/analytics/reports', providesTags: ['Reports'] }),
    createReport: b.mutation<JobStarted, { table?: string; title?: string }>({
      query: (body) => ({ url: '/api/v1/analytics/reports', method: 'POST', body }),
      invalidatesTags: ['Reports'],
    }),
  }),
});

export const {
  useMeQuery,
  useReadyQuery,
  useUsersQuery,
  useCreateUserMutation,
  useChangeUserMutation,
  useApiKeysQuery,
  useCreateApiKeyMutation,
  useRevokeApiKeyMutation,
  useAuditQuery,
  useJobQuery,
  usePredictionQuery,
  useBacktestQuery,
  useCryptoHistoryQuery,
  useImportCandlesMutation,
  useOcrUploadMutation,
  useOcrDocumentsQuery,
  useOcrDocumentQuery,
  useOcrBatchesQuery,
  useImportTransactionsMutation,
  useImportSampleMutation,
  useSegmentsQuery,
  useLazyCustomerSegmentQuery,
  useLazyCustomerClvQuery,
  useTargetingMutation,
  useAllocationMutation,
  useAnalyticsModelsQuery,
  useReportsQuery,
  useCreateReportMutation,
} = armillaryApi;
