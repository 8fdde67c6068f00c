import { defineConfig } from 'tsup'

// One entry per row of the exports map. The client and react entries must never pull in server
// code: they only import from src/client, src/react and src/shared (asserted by a test on dist/).
export default defineConfig({
  entry: {
    'server/index': 'src/server/index.ts',
    'client/index': 'src/client/index.ts',
    'react/index': 'src/react/index.ts',
    'testing/index': 'src/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  splitting: false,
  // The react entry imports the client's code (its error classes above all) from the client entry
  // itself, so each class is defined once and `instanceof` holds across the two entries.
  external: ['copilotedge/client'],
  // No rollup treeshake pass: it strips the react entry's leading 'use client' directive.
})
