import { defineConfig } from "@playwright/test";

// Hale's end-to-end tests drive Debian's Chromium (never a downloaded one)
// against the debug build in ../target, started fresh with an empty SQLite
// file, probing the local fake target.
const HALE = "http://127.0.0.1:3100";

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1, // the tests share one Hale and one fake target
  retries: 0,
  reporter: process.env.CI ? "list" : [["list"]],
  use: {
    baseURL: HALE,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      command: "node fake-target.mjs",
      url: "http://127.0.0.1:3199/_ready",
      reuseExistingServer: false,
      stdout: "ignore",
    },
    {
      command:
        // The first run makes the admin account the sign-in tests use.
        "rm -f ../target/e2e-hale.db* && HALE_ADMIN_PASSWORD=e2e-admin-password " +
        "../target/debug/hale serve --config hale.e2e.yaml " +
        "--listen 127.0.0.1:3100 --database-url sqlite://../target/e2e-hale.db --site-root ../target/site",
      url: `${HALE}/api/health/ready`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "pipe",
      stderr: "pipe",
    },
  ],
});
