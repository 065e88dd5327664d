// Loads a Hale page in Debian's Chromium, each time in a fresh context (a
// cold cache), and prints what it took as one JSON object:
//   { loads, hydrated_ms: [...], live_ms: [...], phases: [...], loaded: [...], transferred: {...} }
// hydrated_ms: navigation start to the `hale:hydrated` performance mark
// (set right after Leptos hydrated the page); live_ms: to `hale:live` (the
// WebSocket's snapshot applied). `transferred` is the bytes on the wire per
// resource type in the first load, as Chromium received them (compressed);
// `loaded` is the path of every request of the first load, recorded as it
// is made (what the page weight counts); `phases` says, per load, when the
// HTML arrived, was parsed, and the wasm arrived. With HALE_TRACE=FILE the
// first load is also recorded as a Chromium trace (chrome://tracing's
// format) into FILE.
//
// With OPEN_SECONDS, one more page is then kept open that long while the
// hub's results arrive, and `busy_ms` is the main thread's time in long
// tasks (the Performance API's `longtask` entries, over 50 ms each) and
// `changes` the DOM changes the live results made meanwhile.
//
// Usage: node end2end/bench/hydrate.mjs URL [LOADS [OPEN_SECONDS]]   (run by server/benches/page.rs)
import { chromium } from "@playwright/test";

const [url, loadsArg, openArg] = process.argv.slice(2);
if (!url) {
  console.error("usage: node hydrate.mjs URL [LOADS]");
  process.exit(2);
}
const loads = Number(loadsArg ?? 10);
const openSeconds = Number(openArg ?? 0);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});

const mark = (page, name) =>
  page.waitForFunction(
    (n) => performance.getEntriesByName(n)[0]?.startTime,
    name,
    { timeout: 30_000, polling: 10 },
  ).then((handle) => handle.jsonValue());

// Where a load's time went, ms from navigation start: the HTML's last
// byte, the parser done (`domInteractive`), deferred scripts run
// (`domContentLoaded`), the wasm's last byte, and the marks.
const phases = () => {
  const nav = performance.getEntriesByType("navigation")[0];
  const wasm = performance.getEntriesByType("resource").find((r) => r.name.endsWith(".wasm"));
  const at = (name) => performance.getEntriesByName(name)[0]?.startTime;
  const ms = (x) => (x === undefined ? null : Math.round(x));
  return {
    html: ms(nav?.responseEnd),
    parsed: ms(nav?.domInteractive),
    dom_content_loaded: ms(nav?.domContentLoadedEventEnd),
    wasm: ms(wasm?.responseEnd),
    hydrated: ms(at("hale:hydrated")),
    live: ms(at("hale:live")),
  };
};

const result = { loads, hydrated_ms: [], live_ms: [], phases: [], loaded: [], transferred: {} };
try {
  for (let i = 0; i < loads; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const sizes = [];
    if (i === 0) {
      page.on("request", (request) => result.loaded.push(new URL(request.url()).pathname));
      page.on("requestfinished", async (request) => {
        const s = await request.sizes().catch(() => null);
        if (s) sizes.push([request.resourceType(), request.url(), s.responseBodySize + s.responseHeadersSize]);
      });
    }
    const trace = i === 0 ? process.env.HALE_TRACE : undefined;
    if (trace) await browser.startTracing(page, { path: trace, screenshots: false });
    const response = await page.goto(url, { waitUntil: "load" });
    if (!response || response.status() !== 200) throw new Error(`${url} answered ${response?.status()}`);
    result.hydrated_ms.push(await mark(page, "hale:hydrated"));
    result.live_ms.push(await mark(page, "hale:live"));
    if (trace) await browser.stopTracing();
    result.phases.push(await page.evaluate(phases));
    if (i === 0) {
      await page.waitForTimeout(200); // let the last sizes arrive
      for (const [type, resource, bytes] of sizes) {
        const name = new URL(resource).pathname;
        result.transferred[name] = { type, bytes };
      }
    }
    await context.close();
  }
  if (openSeconds > 0) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url, { waitUntil: "load" });
    await mark(page, "hale:live");
    const open = await page.evaluate(async (seconds) => {
      let busy = 0;
      const tasks = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) busy += entry.duration;
      });
      tasks.observe({ type: "longtask" });
      let changes = 0;
      const board = new MutationObserver((records) => (changes += records.length));
      board.observe(document.body, { subtree: true, characterData: true, childList: true, attributes: true });
      await new Promise((r) => setTimeout(r, seconds * 1_000));
      tasks.disconnect();
      board.disconnect();
      return { busy, changes };
    }, openSeconds);
    result.open_ms = openSeconds * 1_000;
    result.busy_ms = open.busy;
    result.changes = open.changes;
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
