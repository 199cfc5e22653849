// The npm Statuspage v2 client `statuspage.io` against a live herald. The client builds its
// base URL from a page id (https://<id>.statuspage.io); its axios instance is pointed at
// herald instead. Every call must succeed, and the typed fields it declares must be there,
// with the enum values it declares.
import { Statuspage } from 'statuspage.io';

const [base] = process.argv.slice(2);
const client = new Statuspage('herald');
client.apiClient.defaults.baseURL = base;

function fail(msg) { console.error(`FAIL ${msg}`); process.exit(1); }
function need(obj, keys, what) {
  for (const k of keys) if (!(k in obj)) fail(`${what} lacks ${k}: ${JSON.stringify(obj).slice(0, 300)}`);
}
const PAGE = ['id', 'name', 'time_zone', 'updated_at', 'url'];
const COMPONENT = ['created_at', 'description', 'group', 'group_id', 'id', 'name', 'only_show_if_degraded',
  'page_id', 'position', 'showcase', 'start_date', 'status', 'updated_at'];
const INCIDENT = ['created_at', 'id', 'impact', 'incident_updates', 'monitoring_at', 'name', 'page_id',
  'resolved_at', 'shortlink', 'status', 'updated_at'];
const UPDATE = ['body', 'created_at', 'display_at', 'id', 'incident_id', 'status', 'updated_at'];
const IMPACTS = ['critical', 'major', 'minor', 'none', 'maintenance'];
const INCIDENT_STATUS = ['identified', 'investigating', 'monitoring', 'postmortem', 'resolved'];
const MAINT_STATUS = ['completed', 'in_progress', 'scheduled', 'verifying'];
const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$/;

function checkIncident(i, statuses) {
  need(i, INCIDENT, 'incident');
  if (!IMPACTS.includes(i.impact)) fail(`impact ${i.impact}`);
  if (!statuses.includes(i.status)) fail(`status ${i.status}`);
  if (!TS.test(i.created_at)) fail(`timestamp ${i.created_at}`);
  for (const u of i.incident_updates) need(u, UPDATE, 'incident update');
}

const steps = [];
const summary = await client.api.getSummary();
need(summary, ['page', 'components', 'incidents', 'scheduled_maintenances', 'status'], 'summary');
need(summary.page, PAGE, 'page');
for (const c of summary.components) need(c, COMPONENT, 'component');
for (const i of summary.incidents) checkIncident(i, INCIDENT_STATUS);
if (summary.incidents.length === 0) fail('summary has no incident');
steps.push('summary');
const status = await client.api.getStatus();
need(status.status, ['indicator', 'description'], 'status');
if (status.status.indicator !== summary.status.indicator) fail('status and summary disagree');
steps.push('status');
const components = await client.api.getComponents();
if (components.components.length !== summary.components.length) fail('component counts differ');
steps.push('components');
const all = await client.api.incidents.getAll();
for (const i of all.incidents) checkIncident(i, INCIDENT_STATUS);
const unresolved = await client.api.incidents.getUnresolved();
for (const i of unresolved.incidents) if (['resolved', 'postmortem'].includes(i.status)) fail('resolved in unresolved');
steps.push('incidents');
for (const call of ['getAll', 'getActive', 'getUpcoming']) {
  const m = await client.api.scheduledMaintenances[call]();
  for (const x of m.scheduled_maintenances) {
    checkIncident(x, MAINT_STATUS);
    need(x, ['scheduled_for', 'scheduled_until'], 'maintenance');
  }
}
steps.push('scheduled maintenances');
console.log(`all steps passed: ${steps.join(', ')}`);
