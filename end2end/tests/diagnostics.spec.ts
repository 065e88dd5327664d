import { test, expect } from "@playwright/test";

const TARGET = "http://127.0.0.1:3199";

async function setTarget(path: string, status: number) {
  const res = await fetch(`${TARGET}/_control?path=${path}&status=${status}`, { method: "POST" });
  expect(res.status).toBe(204);
}

test.afterEach(async () => {
  await setTarget("/docs", 200);
});

test("the detail page runs diagnostics and shows what they found", async ({ page }) => {
  await setTarget("/docs", 200);
  await page.goto("/services/docs");
  await expect(page.locator('[data-live="connected"]')).toBeVisible();
  const panel = page.locator("[data-diagnostics]");
  await panel.getByRole("button", { name: "Run diagnostics" }).click();
  await expect(panel.locator("[data-diagnostics-running]")).toBeVisible();
  const result = panel.locator("[data-diagnostics-result]");
  await expect(result).toHaveAttribute("data-healthy", "true", { timeout: 15_000 });
  await expect(result.locator('[data-check^="Connection to 127.0.0.1:3199"]')).toHaveAttribute("data-ok", "true");
  await expect(result.locator('[data-check="5 probes"]')).toContainText("100% succeeded");

  // A failing target: the same button reports the issue and what to do.
  await setTarget("/docs", 500);
  await panel.getByRole("button", { name: "Run diagnostics" }).click();
  await expect(result.or(panel.locator("[data-diagnostics-result]"))).toHaveAttribute("data-healthy", "false", {
    timeout: 15_000,
  });
  await expect(panel.locator('[data-issue="low_success_rate"]')).toContainText("Fix the errors");
});
