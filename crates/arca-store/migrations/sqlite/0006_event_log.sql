-- The event log (issue 11): who made each change, the state before and after it, and a hash
-- chain that makes an edited, removed or reordered row detectable. Rows written before this
-- migration are chained when the store first opens (`events::seal_legacy_events`).
ALTER TABLE registry_events ADD COLUMN actor TEXT NOT NULL DEFAULT '';
ALTER TABLE registry_events ADD COLUMN alias TEXT;
ALTER TABLE registry_events ADD COLUMN before_state TEXT;
ALTER TABLE registry_events ADD COLUMN after_state TEXT;
ALTER TABLE registry_events ADD COLUMN prev_hash TEXT;
ALTER TABLE registry_events ADD COLUMN hash TEXT;
-- History filtered by alias (and time travel of an alias) walks one model's alias events.
CREATE INDEX registry_events_alias ON registry_events (model_name, alias, id);
