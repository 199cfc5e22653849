-- herald: expand
-- Automation incidents (issue 15): the incident automation opened for a component (posted
-- a resolving update once the component's alerts resolve), and the incident settings of a
-- change waiting for the flap window. Nullable columns only: older code ignores them.
ALTER TABLE component_automation ADD COLUMN incident_id TEXT;
ALTER TABLE component_automation ADD COLUMN pending_incident TEXT;
