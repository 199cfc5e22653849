// The demo status page in real Chromium: it loads without JavaScript errors, shows the same
// axe-core is injected as an inline script, so these contexts bypass the page's CSP (which
// allows no script at all); the XSS test checks the CSP itself.
// status as summary.json, passes axe-core (no serious or critical violations) in light and
// dark mode, shows a day's uptime when a bar gets keyboard focus, and works with JavaScript
// off. Screenshots go to artifacts/screenshots/.
import { args, launch, sentinelPage, axe, screenshot, check } from './lib.mjs';

const { base, pages } = args();
const browser = await launch();
try {
  const summary = await (await fetch(`${base}/api/v2/summary.json`)).json();
  for (const scheme of ['light', 'dark']) {
    const context = await browser.newContext({ colorScheme: scheme, viewport: { width: 1100, height: 900 }, bypassCSP: true });
    const page = await sentinelPage(context);
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    const resp = await page.goto(`${base}/`);
    check(resp.status() === 200, `GET / answered ${resp.status()}`);
    const banner = (await page.textContent('#page-status')).trim();
    check(banner === summary.status.description, `banner says "${banner}", summary.json says "${summary.status.description}"`);
    const indicator = await page.getAttribute('#page-status', 'data-indicator');
    check(indicator === summary.status.indicator, `banner indicator ${indicator} != ${summary.status.indicator}`);
    for (const i of summary.incidents) {
      check((await page.content()).includes(i.name.replace(/&/g, '&amp;')), `active incident ${i.name} is not on the page`);
    }
    check(await page.locator('details').count() > 0, 'no collapsible groups');
    check(await page.locator('.bars').count() > 0, 'no uptime bars');
    check(errors.length === 0, `console errors: ${errors.join('; ')}`);
    const violations = await axe(page);
    check(violations.length === 0, `axe (${scheme}): ${JSON.stringify(violations)}`);
    // Keyboard: focus the last bar of the first component and read its tooltip.
    const bar = page.locator('.component .bar').last();
    await bar.focus();
    const tip = bar.locator('.tip');
    const box = await tip.boundingBox();
    check(box && box.width > 20, 'a focused bar shows no tooltip');
    check(/uptime|No data|Maintenance/.test(await tip.textContent()), 'the tooltip has no uptime');
    await screenshot(page, `public-demo-${scheme}`);
    await context.close();
  }
  // More pages: a path, or [path, expected status].
  for (const item of pages ?? []) {
    const [path, status] = Array.isArray(item) ? item : [item, 200];
    const context = await browser.newContext({ bypassCSP: true });
    const page = await sentinelPage(context);
    const resp = await page.goto(`${base}${path}`);
    check(resp.status() === status, `GET ${path} answered ${resp.status()}`);
    const violations = await axe(page);
    check(violations.length === 0, `axe on ${path}: ${JSON.stringify(violations)}`);
    await screenshot(page, `public${path.replace(/[^a-z0-9]+/gi, '-')}`);
    await context.close();
  }
  // Readable with JavaScript off.
  const nojs = await browser.newContext({ javaScriptEnabled: false });
  const p = await nojs.newPage();
  await p.goto(`${base}/`);
  check((await p.textContent('#page-status')).trim() === summary.status.description, 'no banner without JavaScript');
  await nojs.close();
  console.log('ok public demo');
} finally {
  await browser.close();
}
