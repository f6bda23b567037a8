/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev` proxies the API to a running suite (ARMILLARY_URL, default :8000).
const api = process.env.ARMILLARY_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 1000 },
  server: {
    proxy: {
      '/api/v1/ws': { target: api.replace(/^http/, 'ws'), ws: true },
      '/api': api,
      '/ready': api,
    },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test-setup.ts'],
    include: ['src/**/*.test.{ts,tsx}', '../shared/src/**/*.test.ts'],
    css: false,
  },
});
