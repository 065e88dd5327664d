import { test, expect } from "@playwright/test";
import { ADMIN } from "./account";

const TARGET = "http://127.0.0.1:3199";

async function setTarget(path: string, status: number) {
  const res = await fetch(`${TARGET}/_control?path=${path}&status=${status}`, { method: "POST" });
  expect(res.status).toBe(204);
}

test.afterEach(async () => {
  await setTarget("/docs", 200);
});

test("diagnostics ask to sign in, run once signed in, and stop after signing out", async ({ page }) => {
  await setTarget("/docs", 200);
  await page.goto("/services/docs");
  await expect(page.locator('[data-live="connected"]')).toBeVisible();
  const panel = page.locator("[data-diagnostics]");

  // Anonymous: the button says what is needed and links to the sign-in page.
  await panel.getByRole("button", { name: "Run diagnostics" }).click();
  const signIn = panel.locator("[data-sign-in]");
  await expect(signIn).toBeVisible();
  await signIn.click();
  await expect(page).toHaveURL(/\/login\?next=%2Fservices%2Fdocs/);

  // A wrong password is refused on the page.
  await page.getByLabel("Name").fill(ADMIN.name);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator("[data-login-error]")).toContainText("Wrong name or password");

  // Signed in, the form brings the browser back to the service.
  await page.getByLabel("Name").fill(ADMIN.name);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL("/services/docs");
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "hale_session");
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe("Strict");

  await expect(page.locator('[data-live="connected"]')).toBeVisible();
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

  // The account page names who is signed in, and signs out.
  await page.goto("/account");
  await expect(page.locator("[data-account-name]")).toHaveText(ADMIN.name);
  await expect(page.locator("[data-account-role]")).toHaveText("admin");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.locator("[data-signed-out]")).toBeVisible();
  await page.goto("/services/docs");
  await expect(page.locator('[data-live="connected"]')).toBeVisible();
  await panel.getByRole("button", { name: "Run diagnostics" }).click();
  await expect(panel.locator("[data-sign-in]")).toBeVisible();
});
