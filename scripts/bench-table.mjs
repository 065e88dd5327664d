// Rewrites the results table of a benchmarks page from the benchmarks'
// result files (server/benches/common/report.rs writes them).
//
// Usage: node scripts/bench-table.mjs RESULTS_DIR PAGE.md
// The table goes between `<!-- bench-results:begin -->` and
// `<!-- bench-results:end -->` in PAGE.md; everything else is left alone.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, page] = process.argv.slice(2);
if (!dir || !page) {
  console.error("usage: node scripts/bench-table.mjs RESULTS_DIR PAGE.md");
  process.exit(2);
}

const ORDER = ["probe_engine", "history", "soak", "fanout", "render", "startup", "page", "halfopen"];
const results = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")))
  .sort((a, b) => ORDER.indexOf(a.benchmark) - ORDER.indexOf(b.benchmark));
if (results.length === 0) {
  console.error(`no results in ${dir}`);
  process.exit(1);
}

const cell = (text) => String(text).replaceAll("|", "\\|");
const verdict = { met: "met", missed: "**missed**", reported: "—" };
const commit = (() => {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
})();
const date = new Date().toISOString().slice(0, 10);
const machine = results[0].machine;
const short = results.some((r) => r.short);

const ran = results.map((r) => `\`${r.benchmark}\``).join(", ");
const lines = [
  `Measured ${date} on ${machine}, commit ${commit}: ${ran}.` +
    (short ? " **A --short pass: small sizes and debug builds; these are not the figures.**" : ""),
  "",
  "| Figure | Measured | Target | | Command |",
  "| --- | ---: | ---: | --- | --- |",
];
for (const r of results) {
  for (const row of r.rows) {
    lines.push(
      `| ${cell(row.figure)} | ${cell(row.measured)} | ${cell(row.target)} | ${verdict[row.verdict]} | \`${cell(r.command)}\` |`,
    );
  }
}

const BEGIN = "<!-- bench-results:begin -->";
const END = "<!-- bench-results:end -->";
const text = readFileSync(page, "utf8");
const start = text.indexOf(BEGIN);
const end = text.indexOf(END);
if (start < 0 || end < start) {
  console.error(`${page}: no ${BEGIN} … ${END} section to rewrite`);
  process.exit(1);
}
const updated = text.slice(0, start + BEGIN.length) + "\n" + lines.join("\n") + "\n" + text.slice(end);
writeFileSync(page, updated);
const missed = results.flatMap((r) => r.rows).filter((row) => row.verdict === "missed").length;
console.log(`${page}: ${results.reduce((n, r) => n + r.rows.length, 0)} rows, ${missed} missed`);
