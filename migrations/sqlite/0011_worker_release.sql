-- herald: expand
-- Which release each worker runs, so `herald migrate --contract` can tell whether a node of
-- an older release is still alive: `release` names it (version and commit), `schema_known`
-- is the newest migration its build knows. Nullable: a build that does not fill them in
-- counts as older than any contract step.
ALTER TABLE workers ADD COLUMN release TEXT;
ALTER TABLE workers ADD COLUMN schema_known BIGINT;
