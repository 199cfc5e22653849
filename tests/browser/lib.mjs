// Shared helpers for herald's browser tests.
//
// Every test script is run by the Rust integration suite as
//   node tests/browser/<script>.mjs <json args>
// against a herald it started; a script exits 0 on success and prints why it failed
// otherwise. Chromium is Debian's /usr/bin/chromium (override with CHROMIUM); playwright
// never downloads a browser.
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The arguments the Rust side passed, as one JSON object. */
export function args() {
  return JSON.parse(process.argv[2] ?? '{}');
}

/** Launches headless Chromium with the flags this sandbox needs (no network beyond loopback). */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * A page that records any sign of script injection: calls to alert/confirm/prompt, and
 * writes to window.__xss. `page.xssFired()` says whether the sentinel went off.
 */
export async function sentinelPage(context) {
  const page = await context.newPage();
  const fired = [];
  await page.exposeFunction('__heraldSentinel', (what) => fired.push(what));
  await page.addInitScript(() => {
    for (const name of ['alert', 'confirm', 'prompt']) {
      window[name] = (...a) => window.__heraldSentinel(`${name}(${a.join(',')})`);
    }
    Object.defineProperty(window, '__xss', { set: (v) => window.__heraldSentinel(`__xss=${v}`) });
  });
  page.on('dialog', (d) => { fired.push(`dialog:${d.message()}`); d.dismiss().catch(() => {}); });
  page.xssFired = () => fired;
  return page;
}

/** Runs axe-core on the page; returns the serious and critical violations. */
export async function axe(page) {
  await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
}

/** Saves a screenshot under artifacts/screenshots/ (kept by CI as a build artifact). */
export async function screenshot(page, name) {
  const dir = path.resolve(process.env.HERALD_ARTIFACTS ?? 'artifacts', 'screenshots');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Fails the script with a message. */
export function fail(msg) {
  console.error(`FAIL ${msg}`);
  process.exit(1);
}

/** Asserts `cond`, failing with `msg`. */
export function check(cond, msg) {
  if (!cond) fail(msg);
}
