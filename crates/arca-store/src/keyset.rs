//! Keyset paging: a page resumes after the last row shown, by the values of its order keys,
//! instead of skipping N rows. With an index in the order's own shape (see the migrations'
//! `0004_search_order`), every page, the thousandth as much as the first, is an index seek
//! and a short walk, and a row inserted while a client pages cannot shift the rows after it.
//!
//! Any search can use it: describe its order as `SortKey`s (non-null columns, the last one
//! unique), add `Paging::begin`'s predicate after the WHERE clause and `push_order_by` after
//! that, select `select_list` beside the row's columns, and let `Paging::next_token` read the
//! last row. A search ordered by something that is not a plain column (a run's metric) passes
//! no keys and pages by offset, as MLflow does.
//!
//! Each token carries a fingerprint of the search that minted it (its SQL before paging, its
//! bound values and its order), and a token from any other search is refused: resuming one
//! search after the row values of another would silently show the wrong rows.

use crate::error::Result;
use crate::sql::{Bind, SqlBuilder};
use arca_core::Error;
use arca_core::search::{KeyValue, PageStart, PageToken};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    Int,
    Text,
}

/// One key of a search's order: a NOT NULL column (qualified, as the query names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SortKey {
    pub column: &'static str,
    pub ty: KeyType,
    pub ascending: bool,
}

impl SortKey {
    pub(crate) const fn new(column: &'static str, ty: KeyType, ascending: bool) -> Self {
        SortKey {
            column,
            ty,
            ascending,
        }
    }
}

/// `, <column> AS page_k0, ...`: the order keys of each row, read back for the next token.
pub(crate) fn select_list(keys: &[SortKey]) -> String {
    keys.iter()
        .enumerate()
        .map(|(i, k)| format!(", {} AS page_k{i}", k.column))
        .collect()
}

/// ` ORDER BY a ASC, b DESC, ...`
pub(crate) fn push_order_by(q: &mut SqlBuilder, keys: &[SortKey]) {
    q.push(" ORDER BY ");
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push(k.column)
            .push(if k.ascending { " ASC" } else { " DESC" });
    }
}

/// ` AND <rows after `after` in the order of `keys`>`. The first key also gets a plain range
/// (`a >= $1`), which is what lets the planner seek into the index rather than walk it; the
/// rest of the condition only sorts out the rows that tie on it.
pub(crate) fn push_after(q: &mut SqlBuilder, keys: &[SortKey], after: &[KeyValue]) {
    let first = &keys[0];
    q.push(" AND ").push(first.column);
    q.push(if first.ascending { " >= " } else { " <= " });
    q.bind(bind_of(&after[0])).push(" AND ");
    push_strictly_after(q, keys, after);
}

fn push_strictly_after(q: &mut SqlBuilder, keys: &[SortKey], after: &[KeyValue]) {
    let key = &keys[0];
    q.push("(").push(key.column);
    q.push(if key.ascending { " > " } else { " < " });
    q.bind(bind_of(&after[0]));
    if keys.len() > 1 {
        q.push(" OR (").push(key.column).push(" = ");
        q.bind(bind_of(&after[0])).push(" AND ");
        push_strictly_after(q, &keys[1..], &after[1..]);
        q.push(")");
    }
    q.push(")");
}

fn bind_of(value: &KeyValue) -> Bind {
    match value {
        KeyValue::Int(i) => Bind::Int(*i),
        KeyValue::Text(s) => Bind::Text(s.clone()),
    }
}

/// The order-key values of a row selected with `select_list(keys)`.
pub(crate) fn row_values(row: &AnyRow, keys: &[SortKey]) -> Result<Vec<KeyValue>> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            let column = format!("page_k{i}");
            Ok(match k.ty {
                KeyType::Int => KeyValue::Int(row.try_get(column.as_str())?),
                KeyType::Text => KeyValue::Text(row.try_get(column.as_str())?),
            })
        })
        .collect()
}

/// Where one search's page starts, checked against the search it is for.
#[derive(Debug)]
pub(crate) struct Paging {
    keys: Option<Vec<SortKey>>,
    search: String,
    offset: u64,
    max_results: u64,
}

impl Paging {
    /// Call with the query built up to the end of its WHERE clause. `keys` is the order when
    /// it can be resumed by value (its last key unique), `None` when the search pages by
    /// offset; `order` describes the order either way, for the fingerprint. Adds the resume
    /// condition of a keyset token, and refuses a token minted by a different search.
    pub(crate) fn begin(
        q: &mut SqlBuilder,
        keys: Option<&[SortKey]>,
        order: &str,
        token: Option<&PageToken>,
        max_results: u64,
    ) -> Result<Paging> {
        let search = fingerprint(q, &format!("{order}{keys:?}"));
        let mut paging = Paging {
            keys: keys.map(<[SortKey]>::to_vec),
            search,
            offset: 0,
            max_results,
        };
        let Some(token) = token else {
            return Ok(paging);
        };
        if let Some(minted_for) = &token.search
            && *minted_for != paging.search
        {
            return Err(different_search(token));
        }
        match (&token.start, &paging.keys) {
            (PageStart::Offset(n), _) => paging.offset = *n,
            (PageStart::After(values), Some(keys)) => {
                let fits = values.len() == keys.len()
                    && values.iter().zip(keys).all(|(v, k)| {
                        matches!(
                            (v, k.ty),
                            (KeyValue::Int(_), KeyType::Int) | (KeyValue::Text(_), KeyType::Text)
                        )
                    });
                if !fits {
                    return Err(different_search(token));
                }
                push_after(q, keys, values);
            }
            (PageStart::After(_), None) => return Err(different_search(token)),
        }
        Ok(paging)
    }

    /// The order keys (when resumable by value) and the search's fingerprint.
    #[cfg(test)]
    pub(crate) fn parts(&self) -> (Option<&[SortKey]>, &str) {
        (self.keys.as_deref(), &self.search)
    }

    /// ` LIMIT <max_results + 1> [OFFSET n]`: one row more than asked tells whether another
    /// page follows.
    pub(crate) fn push_limit(&self, q: &mut SqlBuilder) {
        q.push(" LIMIT ").bind_int(self.max_results as i64 + 1);
        if self.offset > 0 {
            q.push(" OFFSET ").bind_int(self.offset as i64);
        }
    }

    /// The token of the next page, when the `rows` read with `push_limit` show there is one.
    pub(crate) fn next_token(&self, rows: &[AnyRow]) -> Result<Option<String>> {
        // An empty page (max_results 0, which the API refuses at its edge) has no last row
        // to resume after.
        if self.max_results == 0 || rows.len() as u64 <= self.max_results {
            return Ok(None);
        }
        let start = match &self.keys {
            Some(keys) => {
                let last = &rows[self.max_results as usize - 1];
                PageStart::After(row_values(last, keys)?)
            }
            None => PageStart::Offset(self.offset + self.max_results),
        };
        Ok(Some(
            PageToken {
                start,
                search: Some(self.search.clone()),
            }
            .encode(),
        ))
    }
}

fn different_search(token: &PageToken) -> crate::error::StoreError {
    Error::invalid(format!(
        "Invalid page token '{}': it was issued for a search with a different filter, order_by \
         or scope; pass the next_page_token of the same search unchanged, or start again \
         without a page token",
        token.encode()
    ))
    .into()
}

/// FNV-1a over the query so far, its bound values and its order: stable across processes and
/// releases of the same SQL, so a token works on any replica behind a load balancer. Not a
/// secret: a forged token can only select rows the same search would also show.
fn fingerprint(q: &SqlBuilder, order: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    };
    feed(q.sql().as_bytes());
    for bind in q.binds() {
        feed(format!("{bind:?}").as_bytes());
    }
    feed(order.as_bytes());
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [SortKey; 3] = [
        SortKey::new("a", KeyType::Int, false),
        SortKey::new("b", KeyType::Text, true),
        SortKey::new("c", KeyType::Int, false),
    ];

    #[test]
    fn the_resume_condition_seeks_on_the_first_key_and_breaks_ties_in_order() {
        let mut q = SqlBuilder::new("SELECT 1 FROM t WHERE 1 = 1");
        let after = [
            KeyValue::Int(7),
            KeyValue::Text("m".into()),
            KeyValue::Int(3),
        ];
        push_after(&mut q, &KEYS, &after);
        assert_eq!(
            q.sql(),
            "SELECT 1 FROM t WHERE 1 = 1 AND a <= $1 AND (a < $2 OR (a = $3 AND \
             (b > $4 OR (b = $5 AND (c < $6)))))"
        );
    }

    #[test]
    fn a_token_from_another_search_is_refused() {
        let token_of = |filter: &str| {
            let mut q = SqlBuilder::new("SELECT 1 FROM t WHERE b = ");
            q.bind_text(filter);
            let paging = Paging::begin(&mut q, Some(&KEYS), "o", None, 1).unwrap();
            PageToken {
                start: PageStart::After(vec![
                    KeyValue::Int(1),
                    KeyValue::Text("x".into()),
                    KeyValue::Int(1),
                ]),
                search: Some(paging.search),
            }
        };
        let mine = token_of("x");
        let mut q = SqlBuilder::new("SELECT 1 FROM t WHERE b = ");
        q.bind_text("x");
        Paging::begin(&mut q, Some(&KEYS), "o", Some(&mine), 1).unwrap();

        let theirs = token_of("y");
        let mut q = SqlBuilder::new("SELECT 1 FROM t WHERE b = ");
        q.bind_text("x");
        let err = Paging::begin(&mut q, Some(&KEYS), "o", Some(&theirs), 1).unwrap_err();
        let err = arca_core::Error::from(err);
        assert_eq!(err.code(), arca_core::ErrorCode::InvalidParameterValue);
        assert!(err.to_string().contains("different filter"), "{err}");

        let mut q = SqlBuilder::new("SELECT 1 FROM t WHERE b = ");
        q.bind_text("x");
        let err = Paging::begin(&mut q, Some(&KEYS), "other order", Some(&mine), 1).unwrap_err();
        assert!(
            arca_core::Error::from(err)
                .to_string()
                .contains("different filter")
        );
    }

    #[test]
    fn values_of_the_wrong_shape_are_refused() {
        let mut q = SqlBuilder::new("SELECT 1 FROM t WHERE 1 = 1");
        let search = Paging::begin(&mut q, Some(&KEYS), "o", None, 1)
            .unwrap()
            .search;
        for values in [
            vec![KeyValue::Int(1)],
            vec![
                KeyValue::Text("1".into()),
                KeyValue::Text("x".into()),
                KeyValue::Int(1),
            ],
        ] {
            let token = PageToken {
                start: PageStart::After(values),
                search: Some(search.clone()),
            };
            let mut q = SqlBuilder::new("SELECT 1 FROM t WHERE 1 = 1");
            assert!(Paging::begin(&mut q, Some(&KEYS), "o", Some(&token), 1).is_err());
        }
    }
}
