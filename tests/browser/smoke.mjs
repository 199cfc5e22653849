// The harness itself works: Chromium starts, loads herald's home page (the status page of
// the only page), the XSS sentinel is armed but silent, axe-core runs, and a screenshot is
// written. axe is injected as an inline script, so the context bypasses the page's CSP.
import { args, launch, sentinelPage, axe, screenshot, check } from './lib.mjs';

const { base } = args();
const browser = await launch();
try {
  const context = await browser.newContext({ bypassCSP: true });
  const page = await sentinelPage(context);
  const resp = await page.goto(`${base}/`);
  check(resp.status() === 200, `GET / answered ${resp.status()}`);
  check((await page.textContent('h1')).trim().length > 0, 'the home page has no heading');
  await page.evaluate(() => { window.__xss = 'self-test'; });
  check(page.xssFired().length === 1, 'the XSS sentinel did not fire when poked');
  const violations = await axe(page);
  check(violations.length === 0, `axe: ${JSON.stringify(violations)}`);
  await screenshot(page, 'smoke-home');
  console.log('ok browser smoke');
} finally {
  await browser.close();
}
