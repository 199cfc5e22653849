// Atlassian's own status widget (@statuspage/status-widget) on a page served from another
// origin: it fetches herald's /api/v2/summary.json cross-origin (CORS) and shows the status.
// The same page loads herald's /embed/script.js, whose corner notice must show the active
// incident's name as text.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { args, launch, sentinelPage, screenshot, check } from './lib.mjs';

const require = createRequire(import.meta.url);
const bundle = readFileSync(require.resolve('@statuspage/status-widget/dist/index.js'), 'utf8');
const { base } = args();
const summary = await (await fetch(`${base}/api/v2/summary.json`)).json();

const host = http.createServer((req, res) => {
  if (req.url === '/widget.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(bundle);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Embedding page</title>
<script src="/widget.js"></script></head><body>
<statuspage-widget id="basic" src="${base}/some/path/is/ignored"></statuspage-widget>
<statuspage-widget id="badge" src="${base}" appearance="badge" title="Acme"></statuspage-widget>
<script src="${base}/embed/script.js"></script>
</body></html>`);
});
await new Promise((r) => host.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${host.address().port}`;
check(!base.startsWith(origin), 'the embedding page must be on another origin');

const browser = await launch();
try {
  const context = await browser.newContext();
  const page = await sentinelPage(context);
  const failures = [];
  page.on('console', (m) => { if (m.type() === 'error') failures.push(m.text()); });
  await page.goto(`${origin}/`);
  const text = async (id) => page.evaluate((id) => {
    const el = document.getElementById(id);
    const root = el && (el.shadowRoot || el);
    const t = root && root.querySelector('.status-text');
    return t ? t.textContent.trim() : null;
  }, id);
  let basic = null;
  for (let i = 0; i < 100 && !basic; i++) {
    basic = await text('basic');
    if (!basic) await page.waitForTimeout(100);
  }
  check(basic === summary.status.description, `widget shows ${JSON.stringify(basic)}, want "${summary.status.description}" (${failures.join('; ')})`);
  const indicator = await page.evaluate(() => {
    const el = document.getElementById('basic');
    const i = (el.shadowRoot || el).querySelector('.status-indicator');
    return i ? i.className : '';
  });
  check(indicator.includes(summary.status.indicator), `indicator class "${indicator}"`);
  // The caller posts an active incident: without one the notice check would prove nothing.
  const active = summary.incidents[0];
  check(active, 'summary.json has no active incident: the embed notice cannot be checked');
  const notice = page.locator('[data-herald-embed="incident"]');
  await notice.waitFor({ timeout: 10000 });
  const t = await notice.textContent();
  check(t.includes(active.name), `the embed notice shows "${t}", not the incident "${active.name}"`);
  check(await notice.locator('img, script').count() === 0, 'the embed notice parsed markup');
  check(page.xssFired().length === 0, `sentinel fired: ${page.xssFired()}`);
  await screenshot(page, 'public-status-widget');
  console.log('ok status widget cross-origin');
} finally {
  await browser.close();
  host.close();
}
