import { test, expect } from "@playwright/test";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

// The release binary carries its site: copied alone into an empty
// directory, it writes a starter config with `hale init`, serves it, and
// the page arrives styled, hydrated and live, its files under a versioned
// URL with a year's immutable caching, brotli-compressed.
// scripts/test.sh builds it first (scripts/release.sh).

const BINARY = resolve(process.env.HALE_RELEASE_BINARY ?? "../target/dist/hale");
const PORT = 3102;
const BASE = `http://127.0.0.1:${PORT}`;

let dir = "";
let hale: ChildProcess | undefined;
let log = "";

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  expect(existsSync(BINARY), `${BINARY}: build it with scripts/release.sh`).toBe(true);
  dir = mkdtempSync(join(tmpdir(), "hale-release-"));
  copyFileSync(BINARY, join(dir, "hale"));
  expect(readdirSync(dir)).toEqual(["hale"]);
  // Nothing in the environment may point it at a site on disk.
  const env = { ...process.env };
  for (const name of ["HALE_SITE_ROOT", "LEPTOS_SITE_ROOT", "HALE_CONFIG", "DATABASE_URL"]) delete env[name];
  const init = spawnSync("./hale", ["init", "--listen", `127.0.0.1:${PORT}`], { cwd: dir, env, encoding: "utf8" });
  expect(init.status, init.stderr).toBe(0);
  expect(init.stdout).toContain("wrote hale.yaml");
  hale = spawn("./hale", ["serve", "--config", "hale.yaml", "--listen", `127.0.0.1:${PORT}`], {
    cwd: dir,
    env: { ...env, RUST_LOG: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  hale.stdout?.on("data", (d) => (log += d));
  hale.stderr?.on("data", (d) => (log += d));
  await expect
    .poll(async () => {
      try {
        return (await fetch(`${BASE}/api/health/ready`)).status;
      } catch {
        return 0;
      }
    }, { timeout: 30_000 })
    .toBe(200);
});

test.afterAll(() => {
  hale?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the binary alone serves a styled, hydrated, live page of its starter config", async ({ page }) => {
  const files: { url: string; status: number; headers: Record<string, string> }[] = [];
  page.on("response", (r) => {
    if (new URL(r.url()).pathname.startsWith("/pkg/")) files.push({ url: r.url(), status: r.status(), headers: r.headers() });
  });
  await page.goto(`${BASE}/`);

  // Live: the WebSocket is open, and the starter service (Hale watching
  // its own health) comes up on the page.
  await expect(page.locator("[data-live]")).toHaveAttribute("data-live", "connected");
  await expect(page.locator('[data-service="Hale"]')).toHaveAttribute("data-status", "operational", { timeout: 45_000 });
  // Hydrated: the island's effects ran.
  await expect
    .poll(() => page.evaluate(() => performance.getEntriesByName("hale:hydrated").length))
    .toBeGreaterThan(0);
  // Styled: Tailwind's sheet loaded and applies (the body's class sets
  // its background away from the browser's default transparent).
  const sheet = await page.evaluate(() => {
    const link = document.querySelector<HTMLLinkElement>('link[rel="stylesheet"]#hale');
    return { href: link?.href ?? "", rules: link?.sheet?.cssRules.length ?? 0 };
  });
  expect(sheet.rules).toBeGreaterThan(10);
  expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe("rgba(0, 0, 0, 0)");

  // Every file came from the binary, at a versioned URL, cached for a
  // year, compressed.
  const version = new URL(sheet.href).pathname.split("/")[2];
  expect(version).toMatch(/^[0-9a-f]{16}$/);
  const kinds = files.map((f) => new URL(f.url).pathname.split(".").pop());
  expect(kinds).toEqual(expect.arrayContaining(["css", "js", "wasm"]));
  for (const f of files) {
    expect(f.status, f.url).toBe(200);
    expect(new URL(f.url).pathname.startsWith(`/pkg/${version}/`), f.url).toBe(true);
    expect(f.headers["cache-control"], f.url).toBe("public, max-age=31536000, immutable");
    expect(f.headers["content-encoding"], f.url).toBe("br");
  }
  expect(log).toContain("serving the site this binary carries");
  expect(log).not.toContain("no built site here");
});

test("the binary's favicon and an older version's files", async ({ request }) => {
  const icon = await request.get(`${BASE}/favicon.svg`);
  expect(icon.status()).toBe(200);
  expect(icon.headers()["content-type"]).toBe("image/svg+xml");
  expect((await request.get(`${BASE}/pkg/0000000000000000/hale.js`)).status()).toBe(404);
});
