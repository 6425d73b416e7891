import { defineConfig } from '@playwright/test';

// The server under test: the debug build `cargo leptos build` leaves in target/, started on its
// own port with a fresh database (Playwright waits for /readyz before the first test).
const PORT = 3100;

export default defineConfig({
  testDir: './tests',
  // `make screenshots` runs only the README pictures; `make test` runs everything else.
  testMatch: process.env.SCREENSHOTS ? ['**/screenshots.spec.ts'] : ['**/*.spec.ts'],
  testIgnore: process.env.SCREENSHOTS ? [] : ['**/screenshots.spec.ts'],
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    trace: 'off',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: 'rm -rf target/e2e-data && exec ./target/debug/bookhook serve',
    cwd: '..',
    url: `http://127.0.0.1:${PORT}/readyz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      BOOKHOOK_LISTEN: `127.0.0.1:${PORT}`,
      BOOKHOOK_DATA_DIR: 'target/e2e-data',
      BOOKHOOK_LOG_LEVEL: 'warn',
    },
  },
});
