//! The `arca` command line, end to end: the real binary against a spawned `arca server`, against
//! Arca stores opened directly, and against a real `mlflow server` from the project's venv.

mod auth;
mod copy;
mod errors;
mod every_command;
mod flags;
mod foreign_database;
mod history;
mod support;
