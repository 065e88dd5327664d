import { test, expect, type Page } from "@playwright/test";

const TARGET = "http://127.0.0.1:3199";

async function setTarget(path: string, status: number) {
  const res = await fetch(`${TARGET}/_control?path=${path}&status=${status}`, { method: "POST" });
  expect(res.status).toBe(204);
}

const card = (page: Page, name: string) => page.locator(`[data-service="${name}"]`);

test.beforeEach(async () => {
  for (const path of ["/api", "/web", "/docs"]) await setTarget(path, 200);
});

test("the server's render shows every service without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const response = await page.goto("/status/public");
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("heading", { name: "Acme public status" })).toBeVisible();
  await expect(page.locator("[data-service]")).toHaveCount(2);
  await expect(card(page, "api")).toHaveAttribute("data-status", /^(operational|unknown|down|degraded|maintenance)$/);
  await expect(page.locator("[data-overall-status]")).toHaveCount(1);
  await context.close();
});

test("the page hydrates, goes live, and lists the services by group", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator('[data-live="connected"]')).toBeVisible();
  await expect(page.locator("[data-service]")).toHaveCount(3);
  for (const name of ["api", "website", "docs"]) {
    await expect(card(page, name)).toHaveAttribute("data-status", "operational");
  }
  await expect(page.locator("[data-overall-status]")).toHaveAttribute("data-overall-status", "operational");
  await expect(page.getByText("All systems operational")).toBeVisible();
  // Groups are disclosures, open on a small page, with their worst state.
  const core = page.locator('[data-group="Core"]');
  await expect(core.getByRole("heading", { name: "Core" })).toBeVisible();
  await expect(core).toHaveAttribute("open", "");
  await expect(core).toHaveAttribute("data-status", "operational");
  // Latency and check time fill in from live probes.
  await expect(card(page, "api").locator("[data-latency]")).toHaveText(/\d+(\.\d)? m?s/);
});

test("a target answering 500 turns its card down without a reload, and back", async ({ page }) => {
  await page.goto("/status/public");
  await expect(page.locator('[data-live="connected"]')).toBeVisible();
  await expect(card(page, "api")).toHaveAttribute("data-status", "operational");
  // A marker that a reload would wipe.
  await page.evaluate(() => ((window as any).__haleMarker = "still here"));

  await setTarget("/api", 500);
  await expect(card(page, "api")).toHaveAttribute("data-status", "down");
  await expect(card(page, "api").locator(".pill")).toHaveText("Down");
  await expect(page.locator("[data-overall-status]")).toHaveAttribute("data-overall-status", "down");
  await expect(page.getByText("Partial outage")).toBeVisible();
  // The page leads with what is wrong, linking to it; the group says so.
  await expect(page.locator("[data-problem-counts]")).toHaveText("1 down");
  await expect(page.locator("[data-problems] a")).toHaveText(["api (down)"]);
  await expect(page.locator("[data-problems] a")).toHaveAttribute("href", "#s-api");
  await expect(page.locator('[data-group="Core"]')).toHaveAttribute("data-status", "down");
  await expect(card(page, "api")).toContainText("[STATUS] == 200 (got 500)");
  // Each condition's outcome is on the card, updated live.
  const outcomes = card(page, "api").locator("[data-conditions]");
  await expect(outcomes.locator("summary")).toHaveText("1/3 checks passing");
  await outcomes.locator("summary").click();
  await expect(outcomes.locator('[data-condition="[STATUS] == 200"]')).toHaveAttribute("data-success", "false");
  await expect(outcomes.locator('[data-condition="[BODY].status == UP"]')).toHaveAttribute("data-success", "false");
  await expect(outcomes.locator('[data-condition="[RESPONSE_TIME] < 2000"]')).toHaveAttribute("data-success", "true");
  await expect(card(page, "website")).toHaveAttribute("data-status", "operational");

  await setTarget("/api", 200);
  await expect(card(page, "api")).toHaveAttribute("data-status", "operational");
  await expect(outcomes.locator("summary")).toHaveText("3/3 checks passing");
  // It stayed open through the live updates.
  await expect(outcomes.locator('[data-condition="[STATUS] == 200"]')).toHaveAttribute("data-success", "true");
  await expect(page.locator("[data-overall-status]")).toHaveAttribute("data-overall-status", "operational");
  await expect(page.locator("[data-problems]")).toHaveCount(0);
  await expect(card(page, "api").locator("[data-message]")).toHaveCount(0);
  expect(await page.evaluate(() => (window as any).__haleMarker)).toBe("still here");
});

test("checked times tick, the filter narrows the cards, and the grid is remembered", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator('[data-live="connected"]')).toBeVisible();
  const checked = card(page, "docs").locator("time[data-ago]");
  await expect(checked).toHaveText(/^(just now|\d+ s ago)$/);
  await expect(checked).toHaveAttribute("datetime", /^\d{4}-\d\d-\d\dT/);

  await page.locator("[data-filter]").fill("WEB");
  await expect(page.locator("[data-service]:visible")).toHaveCount(1);
  await expect(card(page, "website")).toBeVisible();
  await page.locator("[data-filter]").fill("");
  await expect(page.locator("[data-service]:visible")).toHaveCount(3);
  await page.locator("[data-only-problems]").check();
  await expect(page.locator('[data-service][data-status="operational"]:visible')).toHaveCount(0);
  await page.locator("[data-only-problems]").uncheck();

  await expect(page.locator("#board")).toHaveAttribute("data-view", "list");
  await page.locator("[data-view-toggle]").click();
  await expect(page.locator("#board")).toHaveAttribute("data-view", "grid");
  await expect(card(page, "api").locator("[data-uptime-bar]")).toBeHidden();
  await page.reload();
  await expect(page.locator('[data-live="connected"]')).toBeVisible();
  await expect(page.locator("#board")).toHaveAttribute("data-view", "grid");
  await page.locator("[data-view-toggle]").click();
  await expect(page.locator("#board")).toHaveAttribute("data-view", "list");
});

test("a fresh render shows the state the hub reached", async ({ page }) => {
  await setTarget("/docs", 500);
  // Wait for the live page to see it, then load the page anew: the server's
  // render must already say down.
  await page.goto("/");
  await expect(card(page, "docs")).toHaveAttribute("data-status", "down");
  const again = await page.request.get("/");
  const html = await again.text();
  expect(html).toMatch(/data-service="docs"[^>]*data-status="down"|data-status="down"[^>]*data-service="docs"/);
});

test("an unknown status page answers 404 with a page", async ({ page }) => {
  const response = await page.goto("/status/no-such-page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "No status page here" })).toBeVisible();
});
