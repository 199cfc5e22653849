-- herald: expand
-- What each write to a page changed (expand-only). Every node keeps an in-memory model of each
-- public page and brings it up to date by reading the rows changed since the version it
-- holds (web/src/public/model.rs), instead of reloading the page's whole history. Each write
-- that bumps a page's version records at least one row for that version, so a version
-- without rows is a gap the reader cannot explain, and it reloads the page in full.
--   target: '*'           anything may have changed: reload the page in full
--           'components'  the page's components or groups
--           'incident:ID' one incident or maintenance (created, changed or deleted)
--           ''            nothing public beyond the page row itself
-- Rows older than the page's last 10,000 versions are pruned by the writes themselves.
CREATE TABLE page_changes (
    page_id  TEXT NOT NULL,
    version  BIGINT NOT NULL,
    target   TEXT NOT NULL,
    PRIMARY KEY (page_id, version, target)
);

-- The page version of the write that logged each status change, so a node reads only the
-- status history written since the version it holds. NULL on rows written before this
-- migration (a full reload reads them by time).
ALTER TABLE component_status_log ADD COLUMN version BIGINT;
CREATE INDEX component_status_log_page_version ON component_status_log (page_id, version);
