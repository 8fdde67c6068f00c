import { buildExample } from '../../scripts/build-example.mjs'

// `npx playwright test` works on a fresh clone: build the library's dist/ and the example app, each only
// when its sources are newer than its build.
export default function globalSetup(): void {
  buildExample({ log: (message) => console.log(`[e2e] ${message}`) })
}
