import { test, expect, type Page } from "@playwright/test";
import { signIn } from "./account";

// Every page works under Hale's Content-Security-Policy: the browser
// reports no violation while a page loads, hydrates, goes live, and (on a
// service's page) loads its lazy island and runs diagnostics.

async function watchViolations(page: Page): Promise<string[]> {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`Content-Security-Policy violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  return violations;
}

test("the status pages hydrate and go live with no policy violation", async ({ page }) => {
  const violations = await watchViolations(page);
  for (const path of ["/", "/status/public"]) {
    const response = await page.goto(path);
    const policy = response?.headers()["content-security-policy"] ?? "";
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toMatch(/script-src 'self' 'wasm-unsafe-eval' 'nonce-[^']+'/);
    expect(response?.headers()["x-content-type-options"]).toBe("nosniff");
    await expect(page.locator('[data-live="connected"]')).toBeVisible();
  }
  expect(violations).toEqual([]);
});

test("a service's page loads its island and runs diagnostics with no policy violation", async ({ page }) => {
  const violations = await watchViolations(page);
  // The sign-in and account pages, on the way.
  await signIn(page, "/account");
  await expect(page.locator("[data-account-name]")).toBeVisible();
  await page.goto("/services/api");
  await expect(page.locator('[data-live="connected"]')).toBeVisible();
  const panel = page.locator("[data-diagnostics]");
  await panel.getByRole("button", { name: "Run diagnostics" }).click();
  await expect(panel.locator("[data-diagnostics-result]")).toBeVisible({ timeout: 15_000 });
  const missing = await page.goto("/no-such-page");
  expect(missing?.status()).toBe(404);
  expect(violations).toEqual([]);
});
