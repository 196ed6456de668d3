-- The model page lists one model's versions with a tag (or a tag and value) in version order, a
-- page at a time: these indexes hold the model's tag rows in that order, so a page is a seek
-- and a walk of its own rows, however rare the tag is and however deep the page.
CREATE INDEX model_version_tags_model_key ON model_version_tags (model_id, key, version);
CREATE INDEX model_version_tags_model_value ON model_version_tags (model_id, key, value, version);
