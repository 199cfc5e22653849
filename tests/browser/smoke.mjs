// The harness itself works: Chromium starts, loads herald's home page, the XSS sentinel is
// armed but silent, axe-core runs, and a screenshot is written.
import { args, launch, sentinelPage, axe, screenshot, check } from './lib.mjs';

const { base } = args();
const browser = await launch();
try {
  const context = await browser.newContext();
  const page = await sentinelPage(context);
  const resp = await page.goto(`${base}/`);
  check(resp.status() === 200, `GET / answered ${resp.status()}`);
  check((await page.textContent('h1')).includes('herald'), 'the home page has no herald heading');
  await page.evaluate(() => { window.__xss = 'self-test'; });
  check(page.xssFired().length === 1, 'the XSS sentinel did not fire when poked');
  const violations = await axe(page);
  check(violations.length === 0, `axe: ${JSON.stringify(violations)}`);
  await screenshot(page, 'smoke-home');
  console.log('ok browser smoke');
} finally {
  await browser.close();
}
