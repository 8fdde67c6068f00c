import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [react()],
  // The react entry imports `copilotedge/client` (one copy of the client for both entries).
  resolve: {
    alias: [
      {
        find: /^copilotedge\/client$/,
        replacement: fileURLToPath(new URL('./src/client/index.ts', import.meta.url)),
      },
    ],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/react/**', 'test/e2e/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'jsdom',
          environment: 'jsdom',
          include: ['test/react/**/*.test.{ts,tsx}'],
        },
      },
    ],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
})
