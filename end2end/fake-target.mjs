// A local target for Hale to probe in end-to-end tests. Every path answers
// with the status currently set for it (200 by default) and a small JSON
// body; `POST /_control?path=/api&status=500` changes a path's answer.
import http from "node:http";

const port = Number(process.env.FAKE_TARGET_PORT ?? 3199);
const statuses = new Map();

http
  .createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (url.pathname === "/_control") {
      const path = url.searchParams.get("path") ?? "/";
      const status = Number(url.searchParams.get("status") ?? 200);
      statuses.set(path, status);
      res.writeHead(204).end();
      return;
    }
    const status = statuses.get(url.pathname) ?? 200;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: status < 400 ? "UP" : "DOWN" }));
  })
  .listen(port, "127.0.0.1", () => console.log(`fake target on http://127.0.0.1:${port}/`));
