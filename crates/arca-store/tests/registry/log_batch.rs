//! What a run logs in one request: written in a few multi-row statements, and still what one
//! item after another would have left (MLflow's rules for params, the latest value of a metric,
//! the last of two tags with one key).

use super::{Store, tag};
use arca_core::model::Tag;
use arca_core::tracking::{Dataset, DatasetInput, Metric, ModelOutput, Param, Run};
use arca_store::NewRun;

on_both_backends!(
    a_batch_larger_than_one_statement_keeps_every_point_and_each_latest_value,
    params_keep_their_first_value_and_a_conflict_fails_the_whole_batch,
    a_tag_given_twice_keeps_its_last_value_and_the_run_name_follows,
    inputs_and_outputs_given_twice_are_recorded_once,
);

async fn new_run(store: &Store) -> String {
    let exp = store.create_experiment("e", None, &[]).await.unwrap();
    let new = NewRun {
        experiment_id: exp,
        run_name: Some("first".into()),
        ..NewRun::default()
    };
    store.create_run(&new).await.unwrap().info.run_id
}

fn metric(key: &str, value: f64, timestamp: i64, step: i64) -> Metric {
    Metric {
        key: key.into(),
        value,
        timestamp,
        step,
        model_id: None,
        dataset_name: None,
        dataset_digest: None,
        run_id: None,
    }
}

fn param(key: &str, value: &str) -> Param {
    Param {
        key: key.into(),
        value: value.into(),
    }
}

fn latest(run: &Run, key: &str) -> (f64, i64, i64) {
    let m = run
        .metrics
        .iter()
        .find(|m| m.key == key)
        .unwrap_or_else(|| panic!("no metric {key} in {:?}", run.metrics));
    (m.value, m.timestamp, m.step)
}

async fn history_len(store: &Store, run_id: &str, key: &str) -> usize {
    store
        .get_metric_history(run_id, key, 100_000, None)
        .await
        .unwrap()
        .items
        .len()
}

async fn a_batch_larger_than_one_statement_keeps_every_point_and_each_latest_value(store: Store) {
    let run_id = new_run(&store).await;
    // 3,000 points: more rows than one statement carries. The highest step of "loss" comes in
    // the middle of the batch and again near its end, not last.
    let mut metrics: Vec<Metric> = (0..3000)
        .map(|i| {
            metric(
                "loss",
                f64::from(i),
                1_000 + i64::from(i),
                (i64::from(i) * 7) % 2000,
            )
        })
        .collect();
    metrics.push(metric("loss", -1.0, 5, 1999));
    // Same step: the later timestamp wins; same step and timestamp: the larger value.
    metrics.extend([
        metric("acc", 0.5, 20, 3),
        metric("acc", 0.9, 10, 3),
        metric("acc", 0.7, 20, 3),
        metric("acc", 0.6, 20, 3),
    ]);
    // The same point twice is one point.
    metrics.extend([metric("dup", 1.0, 1, 1), metric("dup", 1.0, 1, 1)]);
    metrics.push(metric("nan", f64::NAN, 1, 1));
    store.log_batch(&run_id, &metrics, &[], &[]).await.unwrap();

    let run = store.get_run(&run_id).await.unwrap();
    let loss = latest(&run, "loss");
    let expected = (0..3000)
        .map(|i| {
            (
                (i64::from(i) * 7) % 2000,
                1_000 + i64::from(i),
                f64::from(i),
            )
        })
        .chain([(1999, 5, -1.0)])
        .max_by(|a, b| a.partial_cmp(b).unwrap())
        .unwrap();
    assert_eq!(loss, (expected.2, expected.1, expected.0));
    assert_eq!(latest(&run, "acc"), (0.7, 20, 3));
    assert!(latest(&run, "nan").0.is_nan());
    assert_eq!(history_len(&store, &run_id, "loss").await, 3001);
    assert_eq!(history_len(&store, &run_id, "dup").await, 1);

    // A later batch moves a latest value only forward.
    store
        .log_batch(
            &run_id,
            &[metric("acc", 0.1, 5, 2), metric("acc", 0.2, 30, 4)],
            &[],
            &[],
        )
        .await
        .unwrap();
    let run = store.get_run(&run_id).await.unwrap();
    assert_eq!(latest(&run, "acc"), (0.2, 30, 4));
    assert_eq!(history_len(&store, &run_id, "acc").await, 6);
}

async fn params_keep_their_first_value_and_a_conflict_fails_the_whole_batch(store: Store) {
    let run_id = new_run(&store).await;
    let many: Vec<Param> = (0..5000)
        .map(|i| param(&format!("p{i}"), &i.to_string()))
        .collect();
    store.log_batch(&run_id, &[], &many, &[]).await.unwrap();
    // The same value again, also twice in one batch, is no change.
    store
        .log_batch(
            &run_id,
            &[],
            &[param("p1", "1"), param("new", "x"), param("new", "x")],
            &[],
        )
        .await
        .unwrap();

    let err = store
        .log_batch(
            &run_id,
            &[metric("m", 1.0, 1, 1)],
            &[param("q", "1"), param("p7", "8"), param("p9", "0")],
            &[tag("t", "v")],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Changing param values is not allowed. Param with key='p7' was already logged with \
             value='7' for run ID='{run_id}'. Attempted logging new value '8'."
        )
    );
    let err = store
        .log_batch(
            &run_id,
            &[],
            &[param("a", "1"), param("b", "1"), param("a", "2")],
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Duplicate parameter keys have been submitted: 'a' with values '1' and '2'."
    );
    // A conflict with the run comes first when it is earlier in the batch than the duplicate.
    let err = store
        .log_batch(
            &run_id,
            &[],
            &[param("p3", "x"), param("a", "1"), param("a", "2")],
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("key='p3'"),
        "the first failing param is named: {err}"
    );

    let run = store.get_run(&run_id).await.unwrap();
    assert_eq!(run.params.len(), 5001, "the failed batches left no param");
    for key in ["q", "a", "b"] {
        assert!(!run.params.iter().any(|p| p.key == key), "{key} was kept");
    }
    assert!(run.metrics.is_empty(), "nor metric");
    assert!(!run.tags.iter().any(|t| t.key == "t"), "nor tag");
    let p7 = run.params.iter().find(|p| p.key == "p7").unwrap();
    assert_eq!(p7.value, "7");
}

async fn a_tag_given_twice_keeps_its_last_value_and_the_run_name_follows(store: Store) {
    let run_id = new_run(&store).await;
    let tags: Vec<Tag> = vec![
        tag("k", "1"),
        tag("mlflow.runName", "second"),
        tag("k", "2"),
        tag("mlflow.runName", "third"),
    ];
    store.log_batch(&run_id, &[], &[], &tags).await.unwrap();
    let run = store.get_run(&run_id).await.unwrap();
    let value = |key: &str| {
        run.tags
            .iter()
            .filter(|t| t.key == key)
            .map(|t| t.value.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(value("k"), ["2"]);
    assert_eq!(value("mlflow.runName"), ["third"]);
    assert_eq!(run.info.run_name, "third");
}

async fn inputs_and_outputs_given_twice_are_recorded_once(store: Store) {
    let run_id = new_run(&store).await;
    let input = |name: &str, context: &str| DatasetInput {
        tags: vec![tag("mlflow.data.context", context)],
        dataset: Dataset {
            name: name.into(),
            digest: "d1".into(),
            source_type: "local".into(),
            source: "{}".into(),
            schema: None,
            profile: None,
        },
    };
    let models = vec!["m-1".to_owned(), "m-2".to_owned(), "m-1".to_owned()];
    store
        .log_inputs(
            &run_id,
            &[
                input("train", "training"),
                input("eval", "eval"),
                input("train", "tuning"),
            ],
            &models,
        )
        .await
        .unwrap();
    // Again, from another request: nothing new.
    store
        .log_inputs(&run_id, &[input("eval", "eval")], &models[..1])
        .await
        .unwrap();
    let outputs = [
        ModelOutput {
            model_id: "m-3".into(),
            step: 1,
        },
        ModelOutput {
            model_id: "m-3".into(),
            step: 1,
        },
    ];
    store.log_outputs(&run_id, &outputs).await.unwrap();

    let run = store.get_run(&run_id).await.unwrap();
    let inputs: Vec<(&str, &str)> = run
        .dataset_inputs
        .iter()
        .map(|i| (i.dataset.name.as_str(), i.tags[0].value.as_str()))
        .collect();
    assert_eq!(inputs, [("eval", "eval"), ("train", "tuning")]);
    assert_eq!(run.model_inputs, ["m-1", "m-2"]);
    assert_eq!(run.model_outputs, outputs[..1]);
}
