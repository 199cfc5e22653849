// herald status embed: a small notice in a corner of the host page, shown only while the
// status page has an unresolved incident or a maintenance in progress. It reads the page's
// public summary.json and builds its DOM with textContent only: no text from the status page
// is ever parsed as HTML. Its corner and colours come from the page's embed/config.json
// (the v1 status_embed_config); colours are used only when they are #rgb or #rrggbb.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !window.fetch) return;
  var src = script.src.split('?')[0];
  var base = src.replace(/\/embed\/script\.js$/, '');
  var colors = {
    incident: { bg: '#b3261e', fg: '#ffffff' },
    maintenance: { bg: '#1f5fa8', fg: '#ffffff' }
  };
  var corner = { vertical: 'bottom', horizontal: 'right' };
  function color(c, fallback) {
    return /^#[0-9a-f]{3}([0-9a-f]{3})?$/i.test(c || '') ? c : fallback;
  }
  function configure(c) {
    if (!c) return;
    colors.incident = { bg: color(c.incident_background_color, colors.incident.bg), fg: color(c.incident_text_color, colors.incident.fg) };
    colors.maintenance = { bg: color(c.maintenance_background_color, colors.maintenance.bg), fg: color(c.maintenance_text_color, colors.maintenance.fg) };
    var p = String(c.position || '').split('-');
    if (p[0] === 'top' || p[0] === 'bottom') corner.vertical = p[0];
    if (p[1] === 'left' || p[1] === 'right') corner.horizontal = p[1];
  }
  function safeLink(url) {
    return /^https?:\/\//i.test(url || '') ? url : base + '/';
  }
  function show(kind, item) {
    var box = document.createElement('div');
    box.setAttribute('role', 'status');
    box.setAttribute('data-herald-embed', kind);
    var s = box.style;
    s.position = 'fixed'; s[corner.vertical] = '16px'; s[corner.horizontal] = '16px'; s.zIndex = '2147483000';
    s.maxWidth = '320px'; s.padding = '12px 14px'; s.borderRadius = '8px';
    s.font = '14px/1.4 system-ui, sans-serif'; s.boxShadow = '0 2px 12px rgba(0,0,0,.3)';
    s.background = colors[kind].bg; s.color = colors[kind].fg;
    var title = document.createElement('strong');
    title.textContent = item.name;
    var status = document.createElement('div');
    var update = (item.incident_updates && item.incident_updates[0]) || {};
    status.textContent = update.body || item.status;
    var link = document.createElement('a');
    link.href = safeLink(item.shortlink);
    link.textContent = 'View status page';
    link.style.color = 'inherit';
    var close = document.createElement('button');
    close.type = 'button';
    close.textContent = '\u00d7';
    close.setAttribute('aria-label', 'Dismiss');
    close.style.cssText = 'float:right;background:none;border:0;color:inherit;font-size:18px;cursor:pointer';
    close.onclick = function () { box.remove(); };
    box.appendChild(close); box.appendChild(title); box.appendChild(status); box.appendChild(link);
    document.body.appendChild(box);
  }
  function json(path) {
    return fetch(base + path, { credentials: 'omit' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }
  Promise.all([json('/embed/config.json'), json('/api/v2/summary.json')])
    .then(function (got) {
      configure(got[0]);
      var s = got[1];
      if (!s) return;
      var incident = (s.incidents || [])[0];
      var active = (s.scheduled_maintenances || []).filter(function (m) {
        return m.status === 'in_progress' || m.status === 'verifying';
      })[0];
      if (incident) show('incident', incident);
      else if (active) show('maintenance', active);
    })
    .catch(function () {});
})();
