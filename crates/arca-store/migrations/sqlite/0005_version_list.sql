-- The model page lists one model's versions with a tag (or a tag and value) in version order, a
-- page at a time: these indexes hold the tag rows of each key (and value) by model and version,
-- so a page is a seek and a walk of its own rows, however rare the tag is and however deep the
-- page. The key leads, so that a query that knows only the model (a page's tags, read by model
-- and version) is not drawn to them. (key, value) is their prefix and goes.
CREATE INDEX model_version_tags_key_model ON model_version_tags (key, model_id, version);
CREATE INDEX model_version_tags_value_model ON model_version_tags (key, value, model_id, version);
DROP INDEX model_version_tags_key;
