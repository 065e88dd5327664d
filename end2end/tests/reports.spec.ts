import { test, expect } from "@playwright/test";
import { readFile } from "node:fs/promises";

// The page's "Download report" control produces the same file as
// /api/reports: here downloaded through the browser and read back.

test("the page downloads a JSON health report of its services", async ({ page }) => {
  await page.goto("/");
  const form = page.locator("[data-download-report]");
  await expect(form).toBeVisible();
  await form.locator('select[name="window"]').selectOption("7d");

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    form.getByRole("button", { name: "Download report" }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^hale-report-all-\d{8}T\d{4}Z-\d{8}T\d{4}Z\.json$/);
  const report = JSON.parse(await readFile(await download.path(), "utf8"));

  const names = report.services.map((s: { name: string }) => s.name);
  expect(names).toEqual(["api", "website", "docs"]);
  const span = Date.parse(report.period.end) - Date.parse(report.period.start);
  expect(span).toBeGreaterThan(7 * 86_400_000 - 3_600_000);
  expect(span).toBeLessThanOrEqual(7 * 86_400_000 + 3_600_000);
  for (const service of report.services) {
    expect(typeof service.healthy).toBe("boolean");
    expect(service.reliability.total_attempts).toBeGreaterThan(0);
    expect(service.latency.num_requests).toBe(service.reliability.total_attempts);
  }
  expect(typeof report.overall_healthy).toBe("boolean");
});

test("a custom range downloads as CSV, one row per service", async ({ page }) => {
  // Chosen at once, before the page hydrates: the fields show by CSS, so
  // no script has to see the choice.
  await page.goto("/");
  const form = page.locator("[data-download-report]");
  await form.locator('select[name="window"]').selectOption("custom");
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  await form.locator('input[name="from"]').fill(today);
  await form.locator('input[name="to"]').fill(tomorrow);
  await form.locator('select[name="format"]').selectOption("csv");

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    form.getByRole("button", { name: "Download report" }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/\.csv$/);
  const lines = (await readFile(await download.path(), "utf8")).trim().split(/\r?\n/);
  expect(lines[0]).toMatch(/^name,healthy,status,uptime_pct/);
  expect(lines.slice(1).map((l) => l.split(",")[0])).toEqual(["api", "website", "docs"]);
});

test("the custom range's fields show only while it is chosen, without JavaScript too", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/");
  const form = page.locator("[data-download-report]");
  const from = form.locator('input[name="from"]');
  const to = form.locator('input[name="to"]');
  await expect(from).toBeHidden();
  await form.locator('select[name="window"]').selectOption("custom");
  await expect(from).toBeVisible();
  await expect(to).toBeVisible();
  await form.locator('select[name="window"]').selectOption("30d");
  await expect(from).toBeHidden();
  await context.close();
});
