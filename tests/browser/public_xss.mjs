// The XSS corpus in every user-controlled field, loaded in Chromium with the page's CSP
// bypassed (so markup must be inert on its own): the sentinel never fires; no document has
// a script element, an on* attribute, or a link or source outside http(s)/mailto; and each
// shows the hostile text it was given as text (so the scan looked at the hostile input, not
// at a page without it).
//
// HTML pages are scanned as Chromium built them. Feeds and the SVG badge are scanned as
// XML, and every HTML payload a feed carries (Atom `type="html"` text, RSS `description`)
// is parsed as HTML and scanned too: a feed reader renders it.
//
// Arguments: { base, documents: [{ path, expect: [text...] }] }.
import { args, launch, sentinelPage, check } from './lib.mjs';

const { base, documents } = args();
check(documents.length > 0, 'no documents to scan');
const browser = await launch();
try {
  const context = await browser.newContext({ bypassCSP: true });
  for (const { path, expect } of documents) {
    const page = await sentinelPage(context);
    const resp = await page.goto(`${base}${path}`, { waitUntil: 'load' });
    check(resp.status() === 200, `GET ${path} answered ${resp.status()}`);
    const type = resp.headers()['content-type'] ?? '';
    const raw = await resp.text();
    // Hover and focus everything that can show a tooltip.
    const bars = page.locator('.bar');
    for (let i = 0; i < Math.min(await bars.count(), 5); i++) await bars.nth(i).focus();
    await page.waitForTimeout(200);
    const { bad, text, kind } = await page.evaluate(({ raw, type }) => {
      const found = [];
      const scan = (root, where) => {
        for (const el of root.querySelectorAll('*')) {
          const tag = el.localName.toLowerCase();
          const ns = el.namespaceURI;
          const markup = ns === 'http://www.w3.org/1999/xhtml' || ns === 'http://www.w3.org/2000/svg'
            || ns === 'http://www.w3.org/1998/Math/MathML';
          if (markup && ['script', 'iframe', 'object', 'embed', 'math', 'img', 'style', 'foreignobject'].includes(tag)) {
            const headStyle = tag === 'style' && el.parentElement && el.parentElement.localName === 'head';
            if (!headStyle) found.push(`${where}<${tag}>`);
          }
          if (markup && tag === 'svg' && where !== 'svg') found.push(`${where}<svg>`);
          for (const a of el.attributes) {
            if (a.name.toLowerCase().startsWith('on')) found.push(`${where}${tag}[${a.name}]`);
            if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(a.name.toLowerCase())) {
              const v = a.value.trim().toLowerCase();
              if (/^[a-z][a-z0-9+.-]*:/.test(v) && !/^(https?:|mailto:|data:,$)/.test(v)) found.push(`${where}${tag}[${a.name}=${v}]`);
            }
          }
        }
      };
      if (document instanceof HTMLDocument && type.startsWith('text/html')) {
        scan(document, '');
        return { bad: found, text: document.documentElement.textContent, kind: 'html' };
      }
      // XML: the document as sent (not the browser's viewer of it).
      const mime = type.startsWith('image/svg+xml') ? 'image/svg+xml' : 'application/xml';
      const xml = new DOMParser().parseFromString(raw, mime);
      if (xml.querySelector('parsererror')) return { bad: ['not well-formed XML'], text: '', kind: 'xml' };
      const root = xml.documentElement;
      const kind = root.localName === 'svg' ? 'svg' : root.localName;
      scan(xml, kind === 'svg' ? 'svg' : '');
      // The HTML a feed carries, as a feed reader would render it.
      const payloads = [];
      for (const el of xml.getElementsByTagName('*')) {
        const name = el.localName;
        const html = (['title', 'subtitle', 'summary', 'content', 'rights'].includes(name) && el.getAttribute('type') === 'html')
          || (name === 'description' && root.localName === 'rss');
        if (html) payloads.push(el.textContent);
      }
      for (const p of payloads) scan(new DOMParser().parseFromString(p, 'text/html'), `${kind} html: `);
      return { bad: found, text: root.textContent, kind: `${kind} (${payloads.length} HTML payloads)` };
    }, { raw, type });
    check(bad.length === 0, `${path} [${kind}]: ${bad.join(', ')}`);
    for (const want of expect) {
      check(text.includes(want), `${path} [${kind}] does not show ${JSON.stringify(want)} as text`);
    }
    check(page.xssFired().length === 0, `${path}: sentinel fired: ${page.xssFired()}`);
    await page.close();
  }
  console.log(`ok xss corpus inert on ${documents.length} documents`);
} finally {
  await browser.close();
}
