import { expect, type Page } from "@playwright/test";

// The admin Hale's first run makes in the e2e set-up (playwright.config.ts).
export const ADMIN = { name: "admin", password: "e2e-admin-password" };

/** Signs in through the sign-in page's form, from wherever `page` is. */
export async function signIn(page: Page, next = "/account") {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Name").fill(ADMIN.name);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(next);
}
