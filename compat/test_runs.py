"""Runs: create / get / update / params / metrics / tags / log-batch / search / delete / inputs."""

import math
import sys
import time

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.entities import Metric, Param, RunTag, ViewType

from _util import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, raises_code


@pytest.fixture
def exp_id(client, name):
    """A fresh experiment for this test, also made the active one for the fluent API."""
    eid = client.create_experiment(name)
    mlflow.set_experiment(experiment_id=eid)
    return eid


def _now_ms():
    return int(time.time() * 1000)


def test_start_and_end_run(client, exp_id):
    before = _now_ms()
    with mlflow.start_run(run_name="first") as run:
        rid = run.info.run_id
        live = client.get_run(rid)
        assert live.info.status == "RUNNING"
        assert live.info.end_time is None
    after = _now_ms()

    got = client.get_run(rid)
    info = got.info
    assert info.run_id == rid
    assert len(rid) == 32 and all(c in "0123456789abcdef" for c in rid)
    assert info.experiment_id == exp_id
    assert info.run_name == "first"
    assert info.status == "FINISHED"
    assert info.lifecycle_stage == "active"
    assert before - 1000 <= info.start_time <= info.end_time <= after + 1000
    assert info.artifact_uri == f"mlflow-artifacts:/{exp_id}/{rid}/artifacts"
    tags = got.data.tags
    assert tags["mlflow.runName"] == "first"
    assert "mlflow.user" in tags
    assert tags["mlflow.source.type"] == "LOCAL"


def test_create_run_with_client(client, exp_id):
    run = client.create_run(exp_id, run_name="by-client", tags={"team": "x", "empty": ""})
    rid = run.info.run_id
    assert run.info.status == "RUNNING"
    assert run.info.run_name == "by-client"
    assert run.data.tags["team"] == "x"
    assert run.data.tags["empty"] == ""
    assert run.data.tags["mlflow.runName"] == "by-client"
    got = client.get_run(rid)
    assert got.info.experiment_id == exp_id
    assert got.data.params == {}
    assert got.data.metrics == {}


def test_server_names_unnamed_runs(client, exp_id):
    run = client.create_run(exp_id)
    assert run.info.run_name
    assert client.get_run(run.info.run_id).data.tags["mlflow.runName"] == run.info.run_name


def test_get_missing_run(client):
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_run("0123456789abcdef0123456789abcdef")


def test_create_run_in_missing_experiment(client):
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.create_run("987654321")


def test_log_param(client, exp_id):
    rid = client.create_run(exp_id).info.run_id
    client.log_param(rid, "C", "1.0")
    client.log_param(rid, "empty", "")
    client.log_param(rid, "C", "1.0")  # the same value again is fine
    assert client.get_run(rid).data.params == {"C": "1.0", "empty": ""}
    with raises_code(INVALID_PARAMETER_VALUE):
        client.log_param(rid, "C", "2.0")
    assert client.get_run(rid).data.params["C"] == "1.0"


def test_log_metric_steps_and_history(client, exp_id):
    rid = client.create_run(exp_id).info.run_id
    t0 = _now_ms()
    points = [(0, t0, 0.5), (1, t0 + 1, 0.6), (2, t0 + 2, 0.7), (1, t0 + 3, 0.65), (2, t0 + 2, 0.7)]
    for step, ts, value in points:
        client.log_metric(rid, "acc", value, timestamp=ts, step=step)
    client.log_metric(rid, "loss", 3.0, timestamp=t0, step=5)

    history = client.get_metric_history(rid, "acc")
    got = sorted((m.step, m.timestamp, m.value) for m in history)
    # every (step, timestamp, value) is kept; an exact duplicate may be kept once or twice
    assert sorted(set(got)) == sorted(set(points))
    assert all(m.key == "acc" for m in history)

    # the run shows the latest value per key: highest step, then latest timestamp
    run = client.get_run(rid)
    assert run.data.metrics == {"acc": 0.7, "loss": 3.0}
    assert client.get_metric_history(rid, "nosuch") == []


def test_metric_special_values(client, exp_id):
    rid = client.create_run(exp_id).info.run_id
    client.log_metric(rid, "nan", float("nan"), step=0)
    client.log_metric(rid, "pinf", float("inf"), step=0)
    client.log_metric(rid, "ninf", float("-inf"), step=0)
    client.log_metric(rid, "neg", -1.5e-300, step=0)
    client.log_metric(rid, "big", 1.7976931348623157e308, step=0)

    metrics = client.get_run(rid).data.metrics
    assert math.isnan(metrics["nan"])
    # MLflow's SQL store keeps NaN but stores +/-inf as +/-DBL_MAX (1.7976931348623157e308)
    assert metrics["pinf"] == sys.float_info.max
    assert metrics["ninf"] == -sys.float_info.max
    assert metrics["neg"] == -1.5e-300
    assert metrics["big"] == 1.7976931348623157e308
    [m] = client.get_metric_history(rid, "nan")
    assert math.isnan(m.value)
    [m] = client.get_metric_history(rid, "pinf")
    assert m.value == sys.float_info.max
    [m] = client.get_metric_history(rid, "ninf")
    assert m.value == -sys.float_info.max


def test_metric_with_large_step_and_timestamp(client, exp_id):
    rid = client.create_run(exp_id).info.run_id
    client.log_metric(rid, "m", 1.0, timestamp=4_102_444_800_000, step=2**40)
    [m] = client.get_metric_history(rid, "m")
    assert (m.step, m.timestamp) == (2**40, 4_102_444_800_000)


def test_log_batch(client, exp_id):
    with mlflow.start_run() as run:
        rid = run.info.run_id
        mlflow.log_params({"C": 1.0, "penalty": "l2", "n": 3})
        mlflow.log_metrics({"acc": 0.9, "loss": 0.1}, step=3)
        mlflow.set_tags({"team": "x", "stage": "dev"})
        mlflow.set_tag("single", "1")
    t = _now_ms()
    client.log_batch(
        rid,
        metrics=[Metric("acc", 0.95, t, 4), Metric("f1", 0.5, t, 0)],
        params=[Param("extra", "yes")],
        tags=[RunTag("team", "y")],  # tags may be overwritten
    )
    data = client.get_run(rid).data
    assert data.params == {"C": "1.0", "penalty": "l2", "n": "3", "extra": "yes"}
    assert data.metrics == {"acc": 0.95, "loss": 0.1, "f1": 0.5}
    assert data.tags["team"] == "y"
    assert data.tags["stage"] == "dev"
    assert data.tags["single"] == "1"
    assert sorted((m.step, m.value) for m in client.get_metric_history(rid, "acc")) == [(3, 0.9), (4, 0.95)]

    # a batch that changes a logged param is refused
    with raises_code(INVALID_PARAMETER_VALUE):
        client.log_batch(rid, params=[Param("C", "2.0")])


def test_set_and_delete_tag(client, exp_id):
    rid = client.create_run(exp_id).info.run_id
    client.set_tag(rid, "a", "1")
    client.set_tag(rid, "b", "2")
    client.set_tag(rid, "a", "3")
    tags = client.get_run(rid).data.tags
    assert (tags["a"], tags["b"]) == ("3", "2")
    client.delete_tag(rid, "a")
    tags = client.get_run(rid).data.tags
    assert "a" not in tags and tags["b"] == "2"
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.delete_tag(rid, "a")


def test_update_run_name(client, exp_id):
    rid = client.create_run(exp_id, run_name="old").info.run_id
    client.update_run(rid, name="new")
    got = client.get_run(rid)
    assert got.info.run_name == "new"
    assert got.data.tags["mlflow.runName"] == "new"


def test_set_terminated(client, exp_id):
    rid = client.create_run(exp_id).info.run_id
    client.set_terminated(rid, status="FAILED")
    info = client.get_run(rid).info
    assert info.status == "FAILED"
    assert info.end_time is not None and info.end_time >= info.start_time
    rid2 = client.create_run(exp_id).info.run_id
    client.set_terminated(rid2)
    assert client.get_run(rid2).info.status == "FINISHED"


def _make_runs(client, exp_id):
    """Three finished runs and one running, with distinct params, metrics and tags."""
    rows = [
        ("r-low", "0.1", 0.3, "y", "FINISHED"),
        ("r-mid", "1.0", 0.6, "y", "FINISHED"),
        ("r-high", "1.0", 0.9, "z", "FINISHED"),
        ("r-run", "10", 0.7, "y", None),
    ]
    ids = {}
    for run_name, c, acc, x, status in rows:
        rid = client.create_run(exp_id, run_name=run_name).info.run_id
        client.log_param(rid, "C", c)
        client.log_metric(rid, "acc", acc)
        client.set_tag(rid, "x", x)
        if status:
            client.set_terminated(rid, status)
        ids[run_name] = rid
    return ids


def _run_names(runs):
    return [r.info.run_name for r in runs]


def test_search_runs_filters(client, exp_id):
    ids = _make_runs(client, exp_id)

    def names(flt, **kw):
        return sorted(_run_names(client.search_runs([exp_id], flt, **kw)))

    assert names("") == ["r-high", "r-low", "r-mid", "r-run"]
    assert names("metrics.acc > 0.5") == ["r-high", "r-mid", "r-run"]
    assert names("metrics.acc >= 0.6 AND metrics.acc < 0.9") == ["r-mid", "r-run"]
    assert names("params.C = '1.0'") == ["r-high", "r-mid"]
    assert names("params.C != '1.0'") == ["r-low", "r-run"]
    assert names("tags.x = 'y'") == ["r-low", "r-mid", "r-run"]
    assert names("attributes.status = 'FINISHED'") == ["r-high", "r-low", "r-mid"]
    assert names("attributes.status = 'RUNNING'") == ["r-run"]
    assert names("metrics.acc > 0.5 AND params.C = '1.0' AND tags.x = 'y'") == ["r-mid"]
    assert names("attributes.run_name = 'r-low'") == ["r-low"]
    assert names("tags.`mlflow.runName` LIKE 'r-h%'") == ["r-high"]
    assert names(f"attributes.run_id = '{ids['r-mid']}'") == ["r-mid"]
    assert names("metrics.nosuch > 0") == []

    with raises_code(INVALID_PARAMETER_VALUE):
        client.search_runs([exp_id], "metrics.acc >>> 1")


def test_search_runs_order_and_pagination(client, exp_id):
    _make_runs(client, exp_id)
    runs = client.search_runs([exp_id], "", order_by=["metrics.acc DESC"])
    assert _run_names(runs) == ["r-high", "r-run", "r-mid", "r-low"]
    runs = client.search_runs([exp_id], "", order_by=["metrics.acc ASC"])
    assert _run_names(runs) == ["r-low", "r-mid", "r-run", "r-high"]
    runs = client.search_runs([exp_id], "", order_by=["params.C DESC", "attributes.run_name ASC"])
    assert _run_names(runs) == ["r-run", "r-high", "r-mid", "r-low"]

    seen = []
    token = None
    pages = 0
    while True:
        page = client.search_runs([exp_id], "", order_by=["metrics.acc DESC"], max_results=3, page_token=token)
        pages += 1
        seen += _run_names(page)
        token = page.token
        if not token:
            break
        assert pages < 5
    assert pages == 2
    assert seen == ["r-high", "r-run", "r-mid", "r-low"]


def test_search_runs_across_experiments(client, name):
    a = client.create_experiment(name + "-a")
    b = client.create_experiment(name + "-b")
    client.create_run(a, run_name="in-a")
    client.create_run(b, run_name="in-b")
    assert sorted(_run_names(client.search_runs([a, b]))) == ["in-a", "in-b"]
    assert _run_names(client.search_runs([b])) == ["in-b"]


def test_fluent_search_runs_dataframe(client, exp_id):
    _make_runs(client, exp_id)
    df = mlflow.search_runs(experiment_ids=[exp_id], filter_string="metrics.acc > 0.5", order_by=["metrics.acc DESC"])
    assert list(df["tags.mlflow.runName"]) == ["r-high", "r-run", "r-mid"]
    assert list(df["metrics.acc"]) == [0.9, 0.7, 0.6]
    assert list(df["params.C"]) == ["1.0", "10", "1.0"]


def test_delete_and_restore_run(client, exp_id):
    keep = client.create_run(exp_id, run_name="keep").info.run_id
    gone = client.create_run(exp_id, run_name="gone").info.run_id
    client.delete_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "deleted"
    assert _run_names(client.search_runs([exp_id])) == ["keep"]
    assert _run_names(client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)) == ["gone"]
    assert sorted(_run_names(client.search_runs([exp_id], run_view_type=ViewType.ALL))) == ["gone", "keep"]

    client.restore_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "active"
    assert sorted(_run_names(client.search_runs([exp_id]))) == ["gone", "keep"]
    assert client.get_run(keep).info.lifecycle_stage == "active"


def test_log_input_dataset(client, exp_id):
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(df, source="s3://compat-bucket/train.csv", targets="y", name="train-set")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training", tags={"split": "train"})
        arr = mlflow.data.from_numpy(np.arange(6, dtype=np.float64).reshape(3, 2), name="eval-set")
        mlflow.log_input(arr, context="eval")
    got = client.get_run(run.info.run_id)
    inputs = {d.dataset.name: d for d in got.inputs.dataset_inputs}
    assert set(inputs) == {"train-set", "eval-set"}

    train = inputs["train-set"]
    assert train.dataset.digest == dataset.digest
    assert train.dataset.source_type == "s3"
    assert "s3://compat-bucket/train.csv" in train.dataset.source
    assert train.dataset.schema  # JSON text, kept as sent
    tags = {t.key: t.value for t in train.tags}
    assert tags["mlflow.data.context"] == "training"
    assert tags["split"] == "train"

    ev = inputs["eval-set"]
    assert {t.key: t.value for t in ev.tags}["mlflow.data.context"] == "eval"
    assert ev.dataset.digest == arr.digest

    # the dataset can be loaded back from the run's input
    source = mlflow.data.get_source(train)
    assert source.uri == "s3://compat-bucket/train.csv"
