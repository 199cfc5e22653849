// The admin UI end to end in Chromium, as an on-call engineer uses it: sign in, report an
// incident affecting two components in one form, post two updates, resolve, publish a
// postmortem, schedule maintenance. After each step the public page and summary.json must
// show it. Every admin screen: axe-core (0 serious/critical), screenshots at phone and
// desktop widths, the XSS sentinel (hostile names seeded by the Rust side) never fires and
// the DOM holds no script (but herald's own external /admin/admin.js), on* attribute or
// foreign-scheme link. The CSP is bypassed so markup must be inert on its own. The newer
// screens (components and groups, settings, subscribers, deliveries, templates, automation,
// metrics, delete confirmations) are driven with hostile input too, and the markdown preview and keyboard
// shortcuts of admin.js are exercised. Prints the form submissions and the server time from
// sign-in to "incident visible on the public page".
import { args, launch, sentinelPage, axe, screenshot, check, fail } from './lib.mjs';

const { base, pageId, email, password, components, hostile } = args();
const admin = `${base}/admin`;
const pageAdmin = `${admin}/pages/${pageId}`;
const browser = await launch();
let submissions = 0;
let serverMs = 0;
const json = async (path) => (await fetch(`${base}${path}`)).json();
const text = async (path) => (await fetch(`${base}${path}`)).text();

async function inert(page, what) {
  const bad = await page.evaluate(() => {
    const found = [];
    for (const el of document.querySelectorAll('*')) {
      const tag = el.tagName.toLowerCase();
      // herald's own script: external, same origin, no inline code
      if (tag === 'script' && el.getAttribute('src') === '/admin/admin.js' && el.textContent === '') continue;
      // the metrics screen's previews: herald's own same-origin SVG, as an image (no script runs in it)
      const preview = tag === 'img' && /^\/admin\/pages\/[A-Za-z0-9]+\/metrics\/[A-Za-z0-9]+\/preview\.svg$/.test(el.getAttribute('src') ?? '');
      if (['script', 'iframe', 'object', 'embed', 'svg', 'math', 'img', 'style'].includes(tag) && !preview) found.push(`<${tag}>`);
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
  check(bad.length === 0, `${what}: ${bad.join(', ')}`);
  check(page.xssFired().length === 0, `${what}: sentinel fired: ${page.xssFired()}`);
}

/** axe, the XSS checks and screenshots at phone and desktop widths, on the current screen. */
async function audit(page, name) {
  await inert(page, name);
  const v = await axe(page);
  check(v.length === 0, `${name}: axe: ${JSON.stringify(v)}`);
  for (const [label, width] of [['phone', 390], ['desktop', 1280]]) {
    await page.setViewportSize({ width, height: 900 });
    await screenshot(page, `admin-${name}-${label}`);
  }
  // The phone width must not scroll sideways.
  await page.setViewportSize({ width: 390, height: 900 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `${name}: ${overflow}px of horizontal scroll at 390px`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** Submits the form containing `button`, timing the POST on the server side. */
async function submit(page, button) {
  submissions++;
  const posted = page.waitForEvent('requestfinished', (r) => r.method() === 'POST');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
  const req = await posted;
  const t = req.timing();
  return Math.max(0, t.responseStart - t.requestStart);
}

async function waitFor(what, probe) {
  for (let i = 0; i < 20; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`public side never showed: ${what}`);
}

async function postUpdate(page, incidentUrl, status, body, comps) {
  await page.goto(incidentUrl);
  await page.selectOption('#status', status);
  await page.fill('#body', body);
  for (const [id, s] of comps) await page.selectOption(`#component\\.${id}`, s);
  await submit(page, page.getByRole('button', { name: 'Post update' }));
  check(page.url() === incidentUrl, `after ${status}: at ${page.url()}`);
}

try {
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
  const page = await sentinelPage(context);

  // Sign in.
  await page.goto(`${admin}/login`);
  await audit(page, 'login');
  await page.fill('#email', email);
  await page.fill('#password', password);
  const loginMs = await submit(page, page.getByRole('button', { name: 'Sign in' }));
  serverMs += loginMs;
  check(page.url() === admin, `signed in at ${page.url()}`);
  await audit(page, 'dashboard');

  // Report an incident affecting two components, in one form.
  await page.goto(pageAdmin);
  await audit(page, 'page');
  await page.getByRole('link', { name: 'Report an incident' }).first().click();
  await audit(page, 'incident-new');
  const name = 'Checkout errors for EU customers';
  await page.fill('#name', name);
  await page.selectOption('#status', 'investigating');
  await page.fill('#body', 'We are investigating failed payments.');
  await page.selectOption(`#component\\.${components[0]}`, 'major_outage');
  await page.selectOption(`#component\\.${components[1]}`, 'partial_outage');
  const incidentForms = submissions;
  const incidentMs = await submit(page, page.getByRole('button', { name: 'Post incident' }));
  serverMs += incidentMs;
  const incidentUrl = page.url();
  check(incidentUrl.startsWith(`${pageAdmin}/incidents/`), `after create: ${incidentUrl}`);
  const incidentId = incidentUrl.split('/').pop();
  const summary = await json('/api/v2/summary.json');
  check(summary.incidents.some((i) => i.name === name), 'summary.json lacks the new incident');
  check(summary.status.indicator === 'critical', `indicator ${summary.status.indicator}`);
  check((await text('/')).includes(name), 'public page lacks the new incident');
  console.log(`measure: ${submissions} form submissions from the sign-in form to the incident on the public page (${submissions - incidentForms} for the incident itself), ${serverMs.toFixed(1)} ms server time (sign-in ${loginMs.toFixed(1)} ms, incident form ${incidentMs.toFixed(1)} ms)`);
  check(incidentMs < 1000, `the incident form took ${incidentMs} ms on the server`);
  await audit(page, 'incident');

  // Two updates, then resolve (components back to operational).
  await postUpdate(page, incidentUrl, 'identified', 'A bad deploy of the payment service.', []);
  await waitFor('first update', async () => (await json('/api/v2/summary.json')).incidents.find((i) => i.id === incidentId)?.incident_updates[0].body === 'A bad deploy of the payment service.');
  await postUpdate(page, incidentUrl, 'monitoring', 'Rolled back; watching error rates.', [[components[1], 'operational']]);
  await waitFor('second update', async () => (await json('/api/v2/summary.json')).incidents.find((i) => i.id === incidentId)?.status === 'monitoring');
  await postUpdate(page, incidentUrl, 'resolved', 'Payments are back to normal.', [[components[0], 'operational']]);
  await waitFor('resolution', async () => {
    const s = await json('/api/v2/summary.json');
    return !s.incidents.some((i) => i.id === incidentId) && s.status.indicator === 'none';
  });
  check((await text(`/incidents/${incidentId}`)).includes('Payments are back to normal.'), 'public incident page lacks the resolution');

  // Postmortem.
  await page.goto(incidentUrl);
  await page.fill('#pm_body', 'A configuration push removed the EU payment route.');
  await submit(page, page.getByRole('button', { name: 'Publish' }));
  await audit(page, 'incident-resolved');
  await waitFor('postmortem', async () => (await text(`/incidents/${incidentId}`)).includes('A configuration push removed the EU payment route.'));

  // Maintenance.
  await page.goto(`${pageAdmin}/maintenance/new`);
  await audit(page, 'maintenance-new');
  await page.fill('#name', 'Database upgrade');
  await page.fill('#scheduled_for', '2099-03-01T01:00');
  await page.fill('#scheduled_until', '2099-03-01T03:00');
  await page.selectOption(`#component\\.${components[0]}`, 'under_maintenance');
  await submit(page, page.getByRole('button', { name: 'Schedule maintenance' }));
  check(page.url().startsWith(`${pageAdmin}/incidents/`), `after maintenance: ${page.url()}`);
  await waitFor('maintenance', async () => (await json('/api/v2/summary.json')).scheduled_maintenances.some((m) => m.name === 'Database upgrade'));

  // A bad form comes back with the input kept and an accessible message.
  await page.goto(`${pageAdmin}/maintenance/new`);
  await page.fill('#name', hostile[0]);
  await page.fill('#scheduled_for', '2099-03-01T03:00');
  await page.fill('#scheduled_until', '2099-03-01T01:00');
  await submit(page, page.getByRole('button', { name: 'Schedule maintenance' }));
  check((await page.inputValue('#name')) === hostile[0], 'input not kept');
  check(await page.locator('.field-error').count() > 0, 'no field message');
  await audit(page, 'maintenance-invalid');

  // Every hostile string typed into an admin field is stored and shown as text.
  for (const h of hostile) {
    await page.goto(`${pageAdmin}/incidents/new`);
    await page.fill('#name', h);
    await page.fill('#body', h);
    await submit(page, page.getByRole('button', { name: 'Post incident' }));
    await inert(page, `incident named ${JSON.stringify(h)}`);
    check((await page.locator('h1').innerText()) === h, `name shown differently: ${h}`);
  }

  // The other screens.
  for (const [path, name] of [['/audit', 'audit'], ['/keys', 'keys'], ['/team', 'team'], ['/password', 'account']]) {
    await page.goto(`${admin}${path}`);
    await audit(page, name);
  }
  // Components and groups: a group with a hostile name, then the order and confirmations.
  await page.goto(`${pageAdmin}/components`);
  await audit(page, 'components');
  await page.fill('#gname', hostile[2]);
  await page.check(`#new-${components[0]}`);
  await submit(page, page.getByRole('button', { name: 'Add group' }));
  check(page.url() === `${pageAdmin}/components`, `after add group: ${page.url()}`);
  await inert(page, 'group with a hostile name');
  await waitFor('group', async () => (await json('/api/v2/summary.json')).components.some((c) => c.group && c.name === hostile[2]));
  await submit(page, page.getByRole('button', { name: /^Down/ }).first());
  await audit(page, 'components-after');
  await page.getByRole('link', { name: /^Delete/ }).last().click();
  await audit(page, 'component-delete-confirm');

  // Page settings: a hostile headline is stored and shown as text; a bad zone comes back.
  await page.goto(`${pageAdmin}/settings`);
  await audit(page, 'settings');
  await page.fill('#s-headline', hostile[1]);
  await submit(page, page.getByRole('button', { name: 'Save settings' }));
  check((await page.inputValue('#s-headline')) === hostile[1], 'headline not saved as typed');
  await inert(page, 'settings saved');
  await page.fill('#s-time_zone', 'Mars/Olympus');
  await submit(page, page.getByRole('button', { name: 'Save settings' }));
  check(await page.locator('.field-error').count() > 0, 'no message for a bad time zone');
  await audit(page, 'settings-invalid');

  // Incident templates: hostile name and body; the live preview shows sanitised markdown.
  await page.goto(`${pageAdmin}/templates`);
  await audit(page, 'templates');
  await page.reload(); // without the axe script the audit added
  await page.fill('#tname', hostile[3]);
  await page.fill('#ttitle', hostile[0]);
  await page.fill('#tbody', `**Bold** ${hostile[4]} ${hostile[1]}`);
  await page.waitForFunction(() => document.querySelector('#tbody-preview strong')?.textContent === 'Bold');
  await inert(page, 'markdown preview of hostile text');
  await submit(page, page.getByRole('button', { name: 'Add template' }));
  await audit(page, 'templates-after');
  await page.getByRole('link', { name: /^Report an incident from it/ }).first().click();
  check((await page.inputValue('#name')) === hostile[0], 'the template did not prefill the incident');
  await inert(page, 'incident form from a template');

  // Keyboard shortcuts: "n" reports an incident, "/" jumps to the search field.
  await page.goto(pageAdmin);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('n')]);
  check(page.url() === `${pageAdmin}/incidents/new`, `"n" went to ${page.url()}`);

  // Subscribers: add one, search, a refused loopback webhook, its log and the page's log.
  await page.goto(`${pageAdmin}/subscribers`);
  await audit(page, 'subscribers');
  await page.keyboard.press('/');
  check(await page.evaluate(() => document.activeElement?.id === 'q'), '"/" did not focus the search');
  await page.selectOption('#achannel', 'email');
  await page.fill('#aemail', 'reader@example.com');
  await page.check('#askip');
  await submit(page, page.getByRole('button', { name: 'Add subscriber' }));
  check((await page.content()).includes('reader@example.com'), 'new subscriber not listed');
  await page.selectOption('#achannel', 'webhook');
  await page.fill('#aemail', 'ops@example.com');
  await page.fill('#aendpoint', 'http://127.0.0.1:9/hook');
  await submit(page, page.getByRole('button', { name: 'Add subscriber' }));
  check(await page.locator('#aendpoint-err').count() === 1, 'loopback webhook not refused');
  await audit(page, 'subscribers-invalid');
  await page.getByRole('link', { name: 'reader@example.com' }).click();
  await audit(page, 'subscriber');
  await page.goto(`${pageAdmin}/deliveries`);
  await audit(page, 'deliveries');

  // Automation: a webhook with a hostile name (its URL shown once), a check refused beside
  // its field; metrics: a metric with a hostile name and its preview.
  await page.goto(`${pageAdmin}/automation`);
  await audit(page, 'automation');
  await page.selectOption('#i-type', 'webhook');
  await page.fill('#i-name', hostile[0]);
  await submit(page, page.getByRole('button', { name: 'Add integration' }));
  check((await page.locator('code.secret').innerText()).includes('/hooks/'), 'the hook URL was not shown');
  await inert(page, 'integration with a hostile name');
  await audit(page, 'automation-created');
  await page.selectOption('#i-type', 'tls');
  await page.fill('#i-name', 'certificate');
  await page.selectOption('#i-component_id', { index: 1 });
  await page.fill('#i-target', 'example.com:443');
  await page.fill('#i-expiry_days', '400');
  await submit(page, page.getByRole('button', { name: 'Add integration' }));
  check(await page.locator('#i-expiry_days-err').count() === 1, 'bad expiry days not refused');
  await audit(page, 'automation-invalid');
  await page.goto(`${pageAdmin}/metrics`);
  await inert(page, 'metric with a hostile name');
  await audit(page, 'metrics');

  // Deleting an incident asks first.
  await page.goto(incidentUrl);
  await page.getByRole('link', { name: 'Delete this incident' }).click();
  await audit(page, 'incident-delete-confirm');
  await submit(page, page.getByRole('button', { name: 'Delete incident' }));
  check(page.url() === pageAdmin, `after delete: ${page.url()}`);
  await waitFor('deleted incident', async () => !(await text(`/history`)).includes(name));

  await page.goto(admin);
  await audit(page, 'dashboard-after');
  await page.goto(pageAdmin);
  await audit(page, 'page-after');
  console.log(`ok admin flow (${submissions} form submissions in all)`);
} finally {
  await browser.close();
}
