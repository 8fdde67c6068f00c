import { defineConfig } from '@playwright/test'

// CopilotKit's own chat against copilotedge, in Debian's Chromium (nothing downloaded). The app is
// example-copilotkit, a package of its own (`npm ci --prefix example-copilotkit`); the global setup
// builds it when stale, and the worker fixture starts the emulator and `next start` (fixtures.ts).
export default defineConfig({
  testDir: '.',
  outputDir: '../../test-results/playwright-copilotkit',
  globalSetup: './global-setup.ts',
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [
    ['list'],
    [
      'json',
      {
        outputFile:
          process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ??
          '../../test-results/playwright-copilotkit-report.json',
      },
    ],
  ],
  use: {
    browserName: 'chromium',
    viewport: { width: 1100, height: 800 },
    colorScheme: 'light',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
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
