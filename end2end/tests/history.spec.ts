import { test, expect, type Page } from "@playwright/test";

// History as a person sees it: the 90-day uptime bar on each card, and a
// service's own page (window figures, latency chart, recent results), both
// following the live hub. These tests flip `website` (/web), which the
// other specs never fail, so its earlier days and today start healthy.

const TARGET = "http://127.0.0.1:3199";
const DAYS = 90;

async function setTarget(path: string, status: number) {
  const res = await fetch(`${TARGET}/_control?path=${path}&status=${status}`, { method: "POST" });
  expect(res.status).toBe(204);
}

const card = (page: Page, name: string) => page.locator(`[data-service="${name}"]`);
const utcToday = () => new Date().toISOString().slice(0, 10);

/** The bands a day's error rate (in %) may be in, by the default thresholds
 * (healthy below 5 %, critical above 10 %): both sides near a threshold,
 * since the label's uptime is rounded to two decimals. */
function bandsFor(errorPct: number): string[] {
  const bands = new Set<string>();
  for (const e of [errorPct - 0.01, errorPct, errorPct + 0.01]) {
    bands.add(e > 10 ? "critical" : e >= 5 ? "warning" : "healthy");
  }
  return [...bands];
}

async function markPage(page: Page) {
  // A marker that a reload would wipe.
  await page.evaluate(() => ((window as any).__haleMarker = "still here"));
}

async function expectNoReload(page: Page) {
  expect(await page.evaluate(() => (window as any).__haleMarker)).toBe("still here");
}

test.beforeEach(async () => {
  for (const path of ["/api", "/web", "/docs"]) await setTarget(path, 200);
});

test.afterEach(async () => {
  await setTarget("/web", 200);
});

test("each card carries a 90-day uptime bar that ends today, each day on demand", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator('[data-live="connected"]')).toBeVisible();
  await expect(page.locator("[data-uptime-bar]")).toHaveCount(3);

  const website = card(page, "website");
  const bar = website.locator("[data-uptime-bar]");
  // The bar is one SVG; today's segment is its own, coloured live.
  const todayRect = bar.locator("rect[data-today]");
  await expect(todayRect).toHaveAttribute("data-day", utcToday());
  await expect(todayRect).toHaveAttribute("data-band", "healthy");
  await expect(bar.locator("summary")).toHaveAttribute("aria-label", /^Uptime over the last 90 days: /);
  await expect(website.locator("[data-uptime-pct]")).toHaveText(/^\d{1,3}\.\d{2}% uptime$/);

  // Each day's detail when asked for, by keyboard.
  await bar.locator("summary").focus();
  await page.keyboard.press("Enter");
  const days = bar.locator("li[data-day]");
  await expect(days).toHaveCount(DAYS);
  const dates = await days.evaluateAll((els) => els.map((el) => el.getAttribute("data-day") ?? ""));
  // One segment per UTC day, oldest first, without gaps, the last today.
  for (let i = 1; i < dates.length; i++) {
    expect(Date.parse(dates[i]) - Date.parse(dates[i - 1]), dates[i]).toBe(86_400_000);
  }
  const today = days.last();
  await expect(today).toHaveAttribute("data-day", utcToday());
  await expect(today).toHaveAttribute("data-band", "healthy");
  await expect(today).toHaveAttribute("aria-label", new RegExp(`^${utcToday()} · \\d{1,3}\\.\\d{2}% up · worst: `));
  await expect(today).toHaveAttribute("title", /% up/);
  const bands = await days.evaluateAll((els) => els.map((el) => el.getAttribute("data-band")));
  for (const band of bands) expect(band).toMatch(/^(healthy|warning|critical|unknown)$/);
  // One tab stop; the arrow keys walk the days.
  await today.focus();
  await page.keyboard.press("ArrowLeft");
  await expect(days.nth(DAYS - 2)).toBeFocused();

  // The name leads to the service's page.
  await expect(website.getByRole("link", { name: "website", exact: true })).toHaveAttribute(
    "href",
    "/services/website",
  );

  // The server's render carries a bar per card, not a segment per day.
  const html = await (await page.request.get("/")).text();
  expect((html.match(/<rect data-today/g) ?? []).length).toBe(3);
  expect(html).not.toMatch(/<li data-day=/);
});

test("a failing target marks today's segment live, without a reload", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator('[data-live="connected"]')).toBeVisible();
  const website = card(page, "website");
  await expect(website).toHaveAttribute("data-status", "operational");
  const bar = website.locator("[data-uptime-bar]");
  await bar.locator("summary").click();
  const today = bar.locator("li[data-day]").last();
  await expect(today).toHaveAttribute("data-day", utcToday());
  await markPage(page);

  await setTarget("/web", 500);
  await expect(website).toHaveAttribute("data-status", "down");
  await expect(bar.locator("rect[data-today]")).toHaveAttribute("data-worst", "down");
  await expect(today).toHaveAttribute("aria-label", /worst: Down/);
  await expect(today).toHaveAttribute("title", /worst: Down/);
  // Failures count in today's uptime, and its colour follows the day's
  // error rate: read them in one go, as a probe may change them.
  const [label, band, counts, rectBand] = await bar.evaluate((el) => [
    el.querySelector("li[data-day]:last-child")?.getAttribute("aria-label") ?? "",
    el.querySelector("li[data-day]:last-child")?.getAttribute("data-band") ?? "",
    el.querySelector("rect[data-today]")?.getAttribute("data-today") ?? "",
    el.querySelector("rect[data-today]")?.getAttribute("data-band") ?? "",
  ]);
  const uptime = Number(/ · (\d{1,3}\.\d{2})% up/.exec(label)?.[1]);
  expect(uptime, label).toBeLessThan(100);
  expect(bandsFor(100 - uptime), label).toContain(band);
  const [total, ok] = counts.split(" ").map(Number);
  expect(ok, counts).toBeLessThan(total);
  expect(bandsFor(((total - ok) * 100) / total), counts).toContain(rectBand);
  await expect(website.locator("[data-uptime-pct]")).not.toHaveText("100.00% uptime");
  await expect(card(page, "api")).toHaveAttribute("data-status", "operational");
  await expectNoReload(page);
});

test("a service's page shows its figures and follows its results live", async ({ page }) => {
  // The detail page's code is a split wasm chunk (`cargo leptos build
  // --split`): the status page must not fetch it, the detail page must.
  const chunks: string[] = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith("/pkg/") && path.endsWith(".wasm") && path !== "/pkg/hale.wasm") chunks.push(path);
  });
  await page.goto("/");
  await expect(page.locator('[data-live="connected"]')).toBeVisible();
  expect(chunks, "wasm the status page fetched besides hale.wasm").toEqual([]);
  await card(page, "website").getByRole("link", { name: "website", exact: true }).click();
  await expect(page).toHaveURL(/\/services\/website$/);
  await expect(page.getByRole("heading", { level: 1, name: "website" })).toBeVisible();
  expect(chunks.length, "the detail page's chunk was fetched").toBeGreaterThan(0);
  await expect(page.locator('[data-live="connected"]')).toBeVisible();

  const root = page.locator('[data-service="website"]');
  await expect(root).toHaveAttribute("data-status", "operational");
  await expect(root.locator("[data-uptime-bar] [data-day]")).toHaveCount(DAYS);
  for (const window of ["24h", "7d", "30d", "90d"]) {
    await expect(page.locator(`[data-window="${window}"]`)).toBeVisible();
  }
  const day = page.locator('[data-window="24h"]');
  await expect(day.locator('[data-figure="uptime"]')).toHaveText(/^\d{1,3}\.\d{2}%$/);
  await expect(day.locator('[data-figure="error-rate"]')).toHaveAttribute(
    "data-band",
    /^(healthy|warning|critical)$/,
  );
  await expect(day.locator('[data-figure="p95"]')).toHaveText(/\d+(\.\d+)? m?s/);

  // With no hourly point yet the chart appears on the first refresh (≤ 10 s
  // after a probe).
  const chart = page.locator("[data-latency-chart]");
  await expect(chart).toBeVisible({ timeout: 30_000 });
  await expect(chart.locator('polyline[data-series="p50"]')).toHaveCount(1);
  await expect(chart.locator('polyline[data-series="p95"]')).toHaveCount(1);

  const rows = page.locator("[data-recent-results] [data-result]");
  await expect(rows.first()).toBeVisible();
  // The previous test failed this target: wait for a success on top.
  await expect(rows.first()).toHaveAttribute("data-success", "true");
  await markPage(page);

  await setTarget("/web", 500);
  await expect(rows.first()).toHaveAttribute("data-success", "false");
  await expect(rows.first()).toContainText("HTTP 500");
  await expect(root).toHaveAttribute("data-status", "down");
  await expect(root.locator("[data-uptime-bar] [data-day]").last()).toHaveAttribute(
    "aria-label",
    /worst: Down/,
  );
  expect(await rows.count()).toBeLessThanOrEqual(50);
  await expectNoReload(page);

  // And back to the status page.
  await page.getByRole("link", { name: /Acme status/ }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator("[data-uptime-bar]")).toHaveCount(3);
});

test("a service's page renders on the server; an unknown one answers 404", async ({ browser, page }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const noScript = await context.newPage();
  await noScript.goto("/status/public");
  await expect(card(noScript, "website").getByRole("link", { name: "website", exact: true })).toHaveAttribute(
    "href",
    "/status/public/website",
  );
  const response = await noScript.goto("/status/public/website");
  expect(response?.status()).toBe(200);
  await expect(noScript.getByRole("heading", { level: 1, name: "website" })).toBeVisible();
  await expect(noScript.locator('[data-service="website"]')).toHaveAttribute(
    "data-status",
    /^(operational|unknown|down|degraded|maintenance)$/,
  );
  await expect(noScript.locator("[data-window]")).toHaveCount(4);
  await expect(noScript.locator("[data-uptime-bar] [data-day]")).toHaveCount(DAYS);
  await expect(noScript.getByRole("link", { name: /Acme public status/ })).toHaveAttribute("href", "/status/public");
  await context.close();

  // No such service, a service the page does not show, no such page.
  for (const path of ["/services/no-such-service", "/status/public/docs", "/status/no-such-page/website"]) {
    expect((await page.request.get(path)).status(), path).toBe(404);
  }
});
