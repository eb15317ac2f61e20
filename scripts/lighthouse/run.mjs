// Run Lighthouse on several pages, one after the other, in one Chromium.
//
//   node scripts/lighthouse/run.mjs JOBS.json
//
// JOBS.json: [{"name": ..., "url": ..., "preset": "mobile" | "desktop"}].
// Prints one line of JSON per job: {name, preset, score, lcp, tbt, fcp,
// si, cls, bytes, lcpElement, elements, error, warnings} (times in ms,
// bytes transferred; lcpElement: the CSS selector and text of the largest
// paint's element; elements: the page's element count).
// For tests/test_lighthouse.py; the Chromium is $CHROME_PATH (default
// /usr/bin/chromium), headless, with no background networking: the machine
// the test runs on reaches no network beyond loopback.
//
// Only what the performance score is made of is gathered and audited
// (Lighthouse's five metrics, which its performance category weighs; its
// other audits weigh nothing), plus the bytes transferred: the same score
// as a full run, in a fraction of its time.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";

const jobs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const CHROME = process.env.CHROME_PATH || "/usr/bin/chromium";
const METRICS = [
  "first-contentful-paint",
  "largest-contentful-paint",
  "total-blocking-time",
  "speed-index",
  "cumulative-layout-shift",
];

function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "lighthouse-"));
  const chrome = spawn(CHROME, [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--metrics-recording-only",
    "--remote-debugging-port=0",
    `--user-data-dir=${profile}`,
    "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let said = "";
    const timer = setTimeout(() => {
      chrome.kill();
      reject(new Error(`${CHROME} did not start in 30 s:\n${said}`));
    }, 30_000);
    chrome.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${CHROME}: ${err.message}`));
    });
    chrome.stderr.on("data", (chunk) => {
      said += chunk;
      const m = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(said);
      if (m) {
        clearTimeout(timer);
        resolve({ chrome, port: Number(m[1]), profile });
      }
    });
  });
}

const { chrome, port, profile } = await launch();
try {
  for (const job of jobs) {
    const flags = {
      port,
      output: "json",
      logLevel: "error",
      onlyCategories: ["performance"],
      onlyAudits: [
        ...METRICS,
        "total-byte-weight",
        "largest-contentful-paint-element",
        "dom-size",
      ],
    };
    const config = job.preset === "desktop" ? desktopConfig : undefined;
    const result = await lighthouse(job.url, flags, config);
    const lhr = result.lhr;
    const audits = lhr.audits;
    const value = (id) => audits[id]?.numericValue ?? null;
    // the element of the largest paint: the first table of the audit
    const lcpNode = audits["largest-contentful-paint-element"]?.details
      ?.items?.[0]?.items?.[0]?.node;
    const lcpElement = lcpNode
      ? `${lcpNode.selector ?? ""} "${Array.from((lcpNode.nodeLabel ?? "")
        .replace(/\s+/g, " ")).slice(0, 40).join("")}"` // whole characters
      : null;
    console.log(JSON.stringify({
      name: job.name,
      preset: job.preset,
      url: job.url,
      score: lhr.categories.performance.score,
      lcp: value("largest-contentful-paint"),
      tbt: value("total-blocking-time"),
      fcp: value("first-contentful-paint"),
      si: value("speed-index"),
      cls: value("cumulative-layout-shift"),
      bytes: value("total-byte-weight"),
      lcpElement,
      elements: value("dom-size"),
      error: lhr.runtimeError?.message ?? null,
      warnings: lhr.runWarnings,
    }));
  }
} finally {
  await new Promise((resolve) => {
    chrome.on("exit", resolve);
    chrome.kill();
  });
  // Chromium's helper processes may still be writing to its profile for a
  // moment after it exits: removing it is best effort
  await new Promise((resolve) => setTimeout(resolve, 500));
  try {
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  } catch (err) {
    console.error(`could not remove ${profile}: ${err.message}`);
  }
}
