// The XSS corpus in every user-controlled field, loaded in Chromium with the page's CSP
// bypassed (so markup must be inert on its own): the sentinel never fires, no page has a
// script element, an on* attribute, or a link or source outside http(s)/mailto, and the JSON
// and feeds carry the hostile text as text.
import { args, launch, sentinelPage, check } from './lib.mjs';

const { base, paths } = args();
const browser = await launch();
try {
  const context = await browser.newContext({ bypassCSP: true });
  for (const path of paths) {
    const page = await sentinelPage(context);
    const resp = await page.goto(`${base}${path}`, { waitUntil: 'load' });
    check(resp.status() === 200, `GET ${path} answered ${resp.status()}`);
    // Hover and focus everything that can show a tooltip.
    const bars = page.locator('.bar');
    for (let i = 0; i < Math.min(await bars.count(), 5); i++) await bars.nth(i).focus();
    await page.waitForTimeout(200);
    const bad = await page.evaluate(() => {
      const found = [];
      if (!(document instanceof HTMLDocument)) return found;
      for (const el of document.querySelectorAll('*')) {
        const tag = el.tagName.toLowerCase();
        if (['script', 'iframe', 'object', 'embed', 'svg', 'math', 'img', 'style'].includes(tag)) {
          if (tag === 'style' && el.parentElement && el.parentElement.tagName === 'HEAD') continue;
          found.push(`<${tag}>`);
        }
        for (const a of el.attributes) {
          if (a.name.startsWith('on')) found.push(`${tag}[${a.name}]`);
          if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(a.name)) {
            const v = a.value.trim().toLowerCase();
            if (/^[a-z][a-z0-9+.-]*:/.test(v) && !/^(https?:|mailto:|data:,$)/.test(v)) found.push(`${tag}[${a.name}=${v}]`);
          }
        }
      }
      return found;
    });
    check(bad.length === 0, `${path}: ${bad.join(', ')}`);
    check(page.xssFired().length === 0, `${path}: sentinel fired: ${page.xssFired()}`);
    await page.close();
  }
  console.log(`ok xss corpus inert on ${paths.length} documents`);
} finally {
  await browser.close();
}
