import { defineConfig } from '@playwright/test'

// Browser tests of the example app (test/e2e), in Debian's Chromium: nothing is downloaded. The global
// setup builds the library and the app when stale; each worker starts its own Workers AI emulator (so
// tests read `emu.requests` in-process) and its own `next start` pointed at it (test/e2e/fixtures.ts).
export default defineConfig({
  testDir: 'test/e2e',
  // Playwright empties its outputDir at start: keep it apart from the other reports in test-results/.
  outputDir: 'test-results/playwright',
  globalSetup: './test/e2e/global-setup.ts',
  // One worker: every test shares the one app and emulator it starts (Next takes ~1 s to start).
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [
    ['list'],
    [
      'json',
      {
        outputFile:
          process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ?? 'test-results/playwright-report.json',
      },
    ],
  ],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    colorScheme: 'light',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // Quiet on a closed network (toolchain.md). Playwright adds --headless and a fresh profile.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
})
