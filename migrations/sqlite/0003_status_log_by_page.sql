-- herald: expand
-- Public snapshots read a page's whole status history (uptime bars): index it by page.
CREATE INDEX component_status_log_page ON component_status_log (page_id, at, id);
