//! A tiny SQL builder for the one place where SQL is assembled at run time: search filters.
//! It numbers `$n` placeholders itself, because sqlx's `QueryBuilder<Any>` writes `?`, which
//! PostgreSQL rejects. User text only ever travels as a bound value, never inside the SQL text.

use sqlx::AnyConnection;
use sqlx::AssertSqlSafe;
use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Float(f64),
}

#[derive(Debug, Default)]
pub(crate) struct SqlBuilder {
    sql: String,
    binds: Vec<Bind>,
}

impl SqlBuilder {
    pub(crate) fn new(sql: &str) -> Self {
        SqlBuilder {
            sql: sql.to_owned(),
            binds: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    pub(crate) fn bind(&mut self, value: Bind) -> &mut Self {
        self.binds.push(value);
        self.sql.push('$');
        self.sql.push_str(&self.binds.len().to_string());
        self
    }

    pub(crate) fn bind_text(&mut self, value: impl Into<String>) -> &mut Self {
        self.bind(Bind::Text(value.into()))
    }

    pub(crate) fn bind_int(&mut self, value: i64) -> &mut Self {
        self.bind(Bind::Int(value))
    }

    /// `($a, $b, ...)` for an IN list; the caller guarantees the list is non-empty.
    pub(crate) fn bind_list(&mut self, values: impl IntoIterator<Item = Bind>) -> &mut Self {
        self.sql.push('(');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.bind(value);
        }
        self.sql.push(')');
        self
    }

    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    /// The same query behind `prefix` (`EXPLAIN `), with the same values bound.
    #[cfg(test)]
    pub(crate) fn prefixed(&self, prefix: &str) -> SqlBuilder {
        SqlBuilder {
            sql: format!("{prefix}{}", self.sql),
            binds: self.binds.clone(),
        }
    }

    pub(crate) fn binds(&self) -> &[Bind] {
        &self.binds
    }

    pub(crate) fn query(&self) -> Query<'_, Any, AnyArguments> {
        let mut query = sqlx::query(AssertSqlSafe(self.sql.as_str()));
        for bind in &self.binds {
            query = match bind {
                Bind::Text(s) => query.bind(s.as_str()),
                Bind::Int(i) => query.bind(*i),
                Bind::Float(f) => query.bind(*f),
            };
        }
        query
    }
}

/// At most this many values are bound to one multi-row statement: far below SQLite's limit
/// (32,766) and PostgreSQL's (65,535), and still enough for MLflow's largest log-batch (1,000
/// metrics of 9 values) in one statement.
pub(crate) const MAX_BINDS: usize = 10_000;

/// How many rows of `columns` values one multi-row statement carries.
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (MAX_BINDS / columns).max(1)
}

/// The VALUES of a multi-row INSERT: `rows` tuples of `columns` placeholders, and no other
/// placeholder may be in the statement. One statement for many rows is the point: each statement
/// is a round trip (on SQLite, a hand-off to sqlx's worker thread and back), and per-row
/// statements spent most of a large log-batch's time on those hand-offs rather than in the
/// database.
///
/// On SQLite the placeholders are bare `?`: sqlx looks up the name of every numbered parameter
/// with `sqlite3_bind_parameter_name`, which walks the statement's list of names, so binding a
/// statement with n `$N` placeholders takes n² steps (82% of a 500-metric log-batch's time,
/// measured). Unnamed ones have no name to look up and bind in order.
pub(crate) fn values_list(conn: &AnyConnection, rows: usize, columns: usize) -> String {
    let numbered = !conn.backend_name().eq_ignore_ascii_case("sqlite");
    placeholders(numbered, rows, columns)
}

fn placeholders(numbered: bool, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 6);
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            n += 1;
            if numbered {
                sql.push('$');
                sql.push_str(&n.to_string());
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut b = SqlBuilder::new("SELECT 1 WHERE a = ");
        b.bind_text("x").push(" AND b IN ");
        b.bind_list([Bind::Int(1), Bind::Int(2)]);
        assert_eq!(b.sql(), "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
        assert_eq!(b.binds.len(), 3);
    }

    #[test]
    fn values_lists_number_every_row() {
        assert_eq!(placeholders(true, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholders(true, 1, 1), "($1)");
        assert_eq!(placeholders(false, 2, 2), "(?, ?), (?, ?)");
        assert!(rows_per_statement(9) * 9 <= MAX_BINDS);
    }
}
