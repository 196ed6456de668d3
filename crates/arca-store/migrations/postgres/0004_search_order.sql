-- Searches page by keyset (resume after the last row shown), so every page of every search is
-- an index seek plus a short walk, when an index has the order's exact shape: its columns in
-- order and each one's direction (or all of them reversed). These are those indexes, for
-- the registry's default orders (MLflow's) and each single-key order with its tiebreaks.

-- A version row carries its model's name, kept by the insert and by a rename, so that orders
-- and filters by name are served by indexes of model_versions without a join (as MLflow keeps
-- model_versions.name).
ALTER TABLE model_versions ADD COLUMN model_name TEXT NOT NULL DEFAULT '';
UPDATE model_versions mv
SET model_name = rm.name FROM registered_models rm WHERE rm.id = mv.model_id;

-- registered-models/search: name (the UNIQUE index), last_updated_timestamp then name
-- (registered_models_last_updated for ASC/ASC and DESC/DESC, this one for the mixed pairs).
CREATE INDEX registered_models_updated_desc ON registered_models (last_updated_time DESC, name);

-- model-versions/search: each order ends with name ASC, version_number DESC.
DROP INDEX model_versions_last_updated;
DROP INDEX model_versions_run_id;
CREATE INDEX model_versions_updated_desc
    ON model_versions (last_updated_time DESC, model_name, version DESC);
CREATE INDEX model_versions_updated_asc
    ON model_versions (last_updated_time, model_name, version DESC);
CREATE INDEX model_versions_created_desc
    ON model_versions (creation_time DESC, model_name, version DESC);
CREATE INDEX model_versions_created_asc
    ON model_versions (creation_time, model_name, version DESC);
CREATE INDEX model_versions_name ON model_versions (model_name, version DESC);
CREATE INDEX model_versions_name_version ON model_versions (model_name, version);
-- ... and filtered by one model's name, or by a run id, in the default order.
CREATE INDEX model_versions_name_updated
    ON model_versions (model_name, last_updated_time, version);
CREATE INDEX model_versions_name_created ON model_versions (model_name, creation_time, version);
CREATE INDEX model_versions_run_updated
    ON model_versions (run_id, last_updated_time DESC, model_name, version DESC);

-- runs/search: start_time DESC, run_uuid ASC (MLflow's) and start_time ASC, in one
-- experiment. (Across several, each experiment's rows are found by these and then sorted.)
DROP INDEX runs_experiment_start;
CREATE INDEX runs_experiment_start_desc ON runs (experiment_id, start_time DESC, run_uuid);
CREATE INDEX runs_experiment_start_asc ON runs (experiment_id, start_time, run_uuid);

-- experiments/search: the default creation_time DESC, experiment_id ASC; a requested order
-- ends with experiment_id DESC.
DROP INDEX experiments_creation;
CREATE INDEX experiments_created ON experiments (creation_time, experiment_id);
CREATE INDEX experiments_created_desc ON experiments (creation_time DESC, experiment_id);
CREATE INDEX experiments_updated ON experiments (last_update_time, experiment_id);
CREATE INDEX experiments_updated_desc ON experiments (last_update_time DESC, experiment_id);
CREATE INDEX experiments_name_id ON experiments (name, experiment_id);
CREATE INDEX experiments_name_id_desc ON experiments (name, experiment_id DESC);

-- logged models search: creation_timestamp DESC, model_id ASC (MLflow's), in one experiment
-- or across several.
DROP INDEX logged_models_experiment;
CREATE INDEX logged_models_experiment_created_desc
    ON logged_models (experiment_id, creation_time DESC, model_id);
CREATE INDEX logged_models_experiment_created ON logged_models (experiment_id, creation_time, model_id);
CREATE INDEX logged_models_created_desc ON logged_models (creation_time DESC, model_id);
