import { test, expect } from "@playwright/test";

// The live indicator's state machine, driven by holding back the hub's
// messages: Playwright sits between the page and the real WebSocket.
test("the live indicator goes stale, reconnects, and recovers", async ({ page }) => {
  test.setTimeout(60_000);
  let forward = true;
  let connections = 0;
  await page.routeWebSocket(/\/api\/websocket$/, (ws) => {
    connections += 1;
    const server = ws.connectToServer();
    server.onMessage((message) => {
      if (forward) ws.send(message);
    });
  });

  await page.goto("/");
  const live = page.locator("[data-live]");
  await expect(live).toHaveAttribute("data-live", "connected");
  expect(connections).toBe(1);

  // Silence: after 6 s without a heartbeat the page says it is stale...
  forward = false;
  await expect(live).toHaveAttribute("data-live", "stale", { timeout: 10_000 });
  await expect(live).toHaveText("Stale");
  // ...and after 12 s it replaces the socket itself.
  await expect(live).toHaveAttribute("data-live", "reconnecting", { timeout: 10_000 });
  await expect.poll(() => connections, { timeout: 10_000 }).toBeGreaterThan(1);

  // Messages flow again: the next heartbeat makes it live.
  forward = true;
  await expect(live).toHaveAttribute("data-live", "connected", { timeout: 10_000 });
  await expect(page.locator("[data-service]")).toHaveCount(3);
});

test("a dropped connection is retried with back-off", async ({ page }) => {
  let connections: number[] = [];
  await page.routeWebSocket(/\/api\/websocket$/, (ws) => {
    connections.push(Date.now());
    // Refuse the first three connections outright; accept the fourth.
    if (connections.length <= 3) {
      ws.close();
      return;
    }
    ws.connectToServer();
  });
  await page.goto("/");
  const live = page.locator("[data-live]");
  await expect(live).toHaveAttribute("data-live", "connected", { timeout: 20_000 });
  expect(connections.length).toBe(4);
  // Gaps grow: ~0.5 s, ~1 s, ~2 s (with ±20 % jitter).
  const gaps = connections.slice(1).map((t, i) => t - connections[i]);
  expect(gaps[0]).toBeGreaterThanOrEqual(350);
  expect(gaps[2]).toBeGreaterThan(gaps[0]);
  expect(gaps[2]).toBeGreaterThanOrEqual(1_500);
});
