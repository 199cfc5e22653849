// The demo status page in real Chromium: it loads without JavaScript errors, shows the same
// axe-core is injected as an inline script, so these contexts bypass the page's CSP (which
// allows no script at all); the XSS test checks the CSP itself.
// status as summary.json, passes axe-core (no serious or critical violations) in light and
// dark mode, shows a day's uptime when a bar gets keyboard focus, shows the system metric
// charts named in `charts` (each an image whose accessible name is its title and whose
// description is its summary), and works with JavaScript off, the charts' Week and Month
// links and their data included. Screenshots go to artifacts/screenshots/.
import { args, launch, sentinelPage, axe, screenshot, check } from './lib.mjs';

const { base, pages, charts } = args();
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
    await checkCharts(page, scheme);
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
  await checkCharts(p, 'nojs');
  await followChartLinks(p);
  await nojs.close();
  console.log('ok public demo');
} finally {
  await browser.close();
}

// Every expected chart is on the page: an image whose accessible name is its title
// ("<metric>, last 24 hours") followed by its summary (current value and average; the svg is
// labelled by both), drawn with a line.
function chartNamed(page, name) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return page.getByRole('img', { name: new RegExp(`^${escaped}, last 24 hours `) });
}
async function checkCharts(page, scheme) {
  const figures = page.locator('figure.metric');
  check(await figures.count() === (charts ?? []).length, `${await figures.count()} charts on the page, expected ${(charts ?? []).length}`);
  for (const name of charts ?? []) {
    const img = chartNamed(page, name);
    check(await img.count() === 1, `no chart image named "${name}, last 24 hours ..."`);
    const ids = ((await img.getAttribute('aria-labelledby')) ?? '').split(/\s+/);
    const desc = ids.length > 1 ? (await page.locator(`[id="${ids[1]}"]`).textContent()) : '';
    check(/^Current value .+; average over the last 24 hours .+\./.test(desc), `chart "${name}" has no summary: "${desc}"`);
    check(await img.locator('path').count() === 1, `chart "${name}" draws no line`);
    const box = await img.boundingBox();
    check(box && box.width > 200 && box.height > 40, `chart "${name}" is not visible: ${JSON.stringify(box)}`);
  }
  if ((charts ?? []).length > 0) {
    await screenshot(page.locator('figure.metric').first(), `public-demo-chart-${scheme}`);
  }
}

// With JavaScript off, each chart's Week and Month links open that chart (an SVG document
// titled for its period) and its day data link opens the JSON of the same metric.
async function followChartLinks(p) {
  for (const name of charts ?? []) {
    const figure = p.locator('figure.metric', { has: chartNamed(p, name) });
    for (const [link, period] of [['Week', 'last 7 days'], ['Month', 'last 30 days'], ['day', null]]) {
      const home = p.url();
      const [resp] = await Promise.all([
        p.waitForNavigation(),
        figure.getByRole('link', { name: link, exact: true }).click(),
      ]);
      check(resp && resp.status() === 200, `"${name}" ${link} link answered ${resp && resp.status()}`);
      const body = await resp.text();
      if (period) {
        check((resp.headers()['content-type'] ?? '').startsWith('image/svg+xml'), `"${name}" ${link} is ${resp.headers()['content-type']}`);
        check(body.includes(`>${name}, ${period}</title>`), `"${name}" ${link} chart has no title "${name}, ${period}"`);
        check(body.includes('<desc '), `"${name}" ${link} chart has no summary`);
      } else {
        const doc = JSON.parse(body);
        check(doc.metric.name === name && doc.period === 'day' && doc.points.length === 2880, `"${name}" day data: ${body.slice(0, 200)}`);
      }
      await p.goto(home);
    }
  }
}
