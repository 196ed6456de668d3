//! One model's versions, a page at a time, for the model page of the web UI.
//!
//! A model can hold hundreds of thousands of versions (MLflow's own page gives up near 200,000),
//! so nothing here reads them all, and no page costs more for being deep: pages are cut by
//! version number (keyset), never by `OFFSET`. A page starts at the beginning or the end of the
//! list, or just after or before a version shown on the page next to it, so that reading a page
//! is an index seek to that version plus a walk of the page's rows. The version number orders
//! versions by creation: numbers are handed out in the order versions are created.
//!
//! The filter becomes a WHERE clause with bound values over one model's rows, walked in version
//! order along an index that holds the model's rows in that order: the primary key
//! `(model_id, version)`, `model_versions_stage` when a stage is chosen, and with a tag filter
//! the tag rows themselves (`model_version_tags_key_model`: key, model, version;
//! `model_version_tags_value_model`: key, value, model, version), joined to their versions, so
//! that a rare tag is found without walking the versions that lack it. An alias names one
//! version: that row is read by its key. When dates are the only filter, the walk is in
//! creation-time order (see `by_creation_time`); with other filters, the dates are checked on
//! the rows walked. `query_plans.rs` checks every filter's plan.
//!
//! The model page's header says how many versions a model has; `count_model_versions` reads it
//! from the model's version counter less its deleted versions, so a model with a million
//! versions costs what one with ten does (unless it has had more deletes than a bound).

use crate::MetadataStore;
use crate::error::Result;
use crate::models::model_id;
use crate::sql::SqlBuilder;
use crate::versions::{DELETED_STAGE, MV_COLUMNS, attach_version_details, version_from_row};
use arca_core::model::{ModelVersion, Stage};
use sqlx::Row;

/// Which of a model's versions to list. Empty fields select everything; soft-deleted versions
/// are never listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionListFilter {
    pub stage: Option<Stage>,
    /// Only the version this alias points at.
    pub alias: Option<String>,
    /// Versions that carry this tag key (with `tag_value`, that exact value too).
    pub tag_key: Option<String>,
    pub tag_value: Option<String>,
    /// Created at or after this instant (epoch milliseconds).
    pub created_from: Option<i64>,
    /// Created before this instant (epoch milliseconds, exclusive).
    pub created_to: Option<i64>,
    /// Lowest version first; the default is the newest first.
    pub oldest_first: bool,
}

/// Where a page starts, in the list's own order (newest or oldest first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VersionListStart {
    /// The list's first versions.
    #[default]
    First,
    /// The versions that follow this version number in the list: lower numbers when the newest
    /// come first, higher ones when the oldest do. The next page after a page that ends with
    /// version `n` is `After(n)`.
    After(i64),
    /// The versions just before this version number in the list, still shown in the list's
    /// order: the previous page of a page that starts with version `n` is `Before(n)`.
    Before(i64),
    /// The list's last versions: a full page, unless the list is shorter.
    Last,
}

/// A page of versions, in the list's order, and whether the list goes on either side of it.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionListPage {
    pub versions: Vec<ModelVersion>,
    /// Versions come before this page (a page that starts after a version shown on another page
    /// says so without looking).
    pub has_previous: bool,
    /// Versions come after this page (likewise for a page that ends before a version).
    pub has_next: bool,
}

impl MetadataStore {
    /// Up to `limit` of the model `name`'s live versions that match `filter`, from `start`, with
    /// their tags and aliases.
    pub async fn list_model_versions(
        &self,
        name: &str,
        filter: &VersionListFilter,
        start: VersionListStart,
        limit: u64,
    ) -> arca_core::Result<VersionListPage> {
        let limit = limit.clamp(1, 10_000);
        self.read(async |conn| {
            let id = model_id(conn, name).await?;
            // The page is read walking away from where it starts: forwards in the list's order
            // from its beginning or after a version, backwards from its end or before a version
            // (and then turned round).
            let backwards = matches!(start, VersionListStart::Before(_) | VersionListStart::Last);
            // A list ordered by creation time resumes at the time of the version it starts from.
            let at = match start {
                VersionListStart::After(n) | VersionListStart::Before(n)
                    if by_creation_time(filter) =>
                {
                    let row = sqlx::query(
                        "SELECT creation_time FROM model_versions WHERE model_id = $1 AND version = $2",
                    )
                    .bind(id)
                    .bind(n)
                    .fetch_optional(&mut *conn)
                    .await?;
                    match row {
                        Some(row) => Some(row.try_get::<i64, _>(0)?),
                        // No such version: nothing is after or before it.
                        None => {
                            return Ok(VersionListPage {
                                versions: Vec::new(),
                                has_previous: !backwards,
                                has_next: backwards,
                            });
                        }
                    }
                }
                _ => None,
            };
            let q = version_list_query(id, name, filter, start, at, limit);
            let mut rows = q.query().fetch_all(&mut *conn).await?;
            // One row more than asked tells whether the list goes on in the walk's direction.
            let more = rows.len() as u64 > limit;
            rows.truncate(limit as usize);
            let mut versions = rows
                .iter()
                .map(|row| version_from_row(row).map(|(_, v)| v))
                .collect::<Result<Vec<_>>>()?;
            if backwards {
                versions.reverse();
            }
            attach_version_details(conn, id, &mut versions).await?;
            let (has_previous, has_next) = match start {
                VersionListStart::First => (false, more),
                VersionListStart::After(_) => (true, more),
                VersionListStart::Before(_) => (more, true),
                VersionListStart::Last => (more, false),
            };
            Ok(VersionListPage {
                versions,
                has_previous,
                has_next,
            })
        })
        .await
    }

    /// How many live versions the model `name` has: what deleting the model would delete.
    ///
    /// Every version takes the next number of the model's counter (`next_version`) and its row
    /// is never removed, only marked deleted, so the count is the numbers handed out less the
    /// deleted rows, read from `model_versions_stage`: it costs what the model's deleted versions
    /// number, not its versions. When more than `bound` versions were deleted, the live ones are
    /// counted instead, up to `bound`: `AtLeast(bound)` then means "more than that".
    pub async fn count_model_versions(
        &self,
        name: &str,
        bound: u64,
    ) -> arca_core::Result<VersionCount> {
        let limit = i64::try_from(bound).unwrap_or(i64::MAX - 1) + 1;
        self.read(async |conn| {
            let id = model_id(conn, name).await?;
            let row = sqlx::query(
                "SELECT rm.next_version - 1, (SELECT COUNT(*) FROM (SELECT 1 FROM model_versions d \
                 WHERE d.model_id = $1 AND d.current_stage = $2 LIMIT $3) AS deleted) \
                 FROM registered_models rm WHERE rm.id = $1",
            )
            .bind(id)
            .bind(DELETED_STAGE)
            .bind(limit)
            .fetch_one(&mut *conn)
            .await?;
            let (numbered, deleted): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            if deleted < limit {
                return Ok(VersionCount::Exact((numbered - deleted).max(0) as u64));
            }
            let row = sqlx::query(
                "SELECT COUNT(*) FROM (SELECT 1 FROM model_versions \
                 WHERE model_id = $1 AND current_stage <> $2 LIMIT $3) AS counted",
            )
            .bind(id)
            .bind(DELETED_STAGE)
            .bind(limit)
            .fetch_one(&mut *conn)
            .await?;
            let live = row.try_get::<i64, _>(0)?.max(0) as u64;
            Ok(if live > bound {
                VersionCount::AtLeast(bound)
            } else {
                VersionCount::Exact(live)
            })
        })
        .await
    }
}

/// How many versions a model has: exactly, or "more than" a bound when counting them all would
/// cost what the model holds (see `count_model_versions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionCount {
    Exact(u64),
    /// More than this many.
    AtLeast(u64),
}

/// Whether the list is walked in creation-time order: when dates are its only filter, along
/// `model_versions_name_created` (the model's name, the creation time, the version), so that a
/// date range is a seek however far from the list's start it lies. Versions are numbered as they
/// are created, so this is the version order but for versions created in the same millisecond
/// or under a clock that went back. With a stage, alias or tag as well, their index is walked
/// in version order and the dates are checked on its rows.
fn by_creation_time(filter: &VersionListFilter) -> bool {
    (filter.created_from.is_some() || filter.created_to.is_some())
        && filter.stage.is_none()
        && filter.alias.is_none()
        && filter.tag_key.is_none()
}

/// The SQL of one page: `limit + 1` rows from `start`, in the order they are walked (the list's
/// order, or its reverse for a page read from its end). `at` is the creation time of the
/// version a page starts after or before, for a list in creation-time order.
pub(crate) fn version_list_query(
    id: i64,
    name: &str,
    filter: &VersionListFilter,
    start: VersionListStart,
    at: Option<i64>,
    limit: u64,
) -> SqlBuilder {
    let by_time = by_creation_time(filter);
    // With a tag filter the walk is along the model's tag rows for that key (and value), each
    // joined to its version; otherwise along the versions.
    let tagged = filter.tag_key.is_some();
    let mut q = SqlBuilder::new(&format!(
        "SELECT {MV_COLUMNS} FROM {}",
        if tagged {
            "model_version_tags t JOIN model_versions mv \
             ON mv.model_id = t.model_id AND mv.version = t.version"
        } else {
            "model_versions mv"
        }
    ));
    let key = if tagged { "t.version" } else { "mv.version" };
    if let Some(tag_key) = &filter.tag_key {
        q.push(" WHERE t.model_id = ").bind_int(id);
        q.push(" AND t.key = ").bind_text(tag_key.as_str());
        if let Some(value) = &filter.tag_value {
            q.push(" AND t.value = ").bind_text(value.as_str());
        }
        q.push(" AND mv.model_id = ").bind_int(id);
    } else if by_time {
        // The model's name (kept on its version rows) leads the index of this order.
        q.push(" WHERE mv.model_name = ").bind_text(name);
    } else {
        q.push(" WHERE mv.model_id = ").bind_int(id);
    }
    q.push(" AND mv.current_stage <> ").bind_text(DELETED_STAGE);
    if let Some(stage) = filter.stage {
        q.push(" AND mv.current_stage = ").bind_text(stage.as_str());
    }
    if let Some(alias) = &filter.alias {
        // An alias points at one version (`(model_id, alias)` is the aliases' key): read that row.
        q.push(" AND mv.version = (SELECT a.version FROM registered_model_aliases a WHERE a.model_id = ");
        q.bind_int(id).push(" AND a.alias = ");
        q.bind_text(alias.as_str()).push(")");
    }
    // Walking up the version numbers: the oldest first read forwards, or the newest first read
    // from the end.
    let backwards = matches!(start, VersionListStart::Before(_) | VersionListStart::Last);
    let ascending = filter.oldest_first != backwards;
    // In creation-time order a page that resumes at time `at` bounds the walk's near end by
    // `at`; the date on that side is then implied, unless it is tighter. (SQLite seeks on one
    // bound per side, so both would let it start from the wrong one.)
    let resume_at = at.filter(|&at| {
        by_time
            && matches!(
                start,
                VersionListStart::After(_) | VersionListStart::Before(_)
            )
            && if ascending {
                filter.created_from.is_none_or(|from| from <= at)
            } else {
                filter.created_to.is_none_or(|to| at < to)
            }
    });
    if let Some(from) = filter
        .created_from
        .filter(|_| !(ascending && resume_at.is_some()))
    {
        q.push(" AND mv.creation_time >= ").bind_int(from);
    }
    if let Some(to) = filter
        .created_to
        .filter(|_| ascending || resume_at.is_none())
    {
        q.push(" AND mv.creation_time < ").bind_int(to);
    }
    let (cmp, dir) = if ascending {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    match (start, resume_at) {
        // (creation_time, version) past (at, n): the first term is the index's seek, the
        // second breaks ties in the same millisecond.
        (VersionListStart::After(n) | VersionListStart::Before(n), Some(at)) => {
            q.push(&format!(" AND mv.creation_time {cmp}= "));
            q.bind_int(at);
            q.push(&format!(" AND (mv.creation_time {cmp} "));
            q.bind_int(at);
            q.push(&format!(" OR mv.version {cmp} "));
            q.bind_int(n).push(")");
        }
        (VersionListStart::After(n) | VersionListStart::Before(n), _) if !by_time => {
            q.push(&format!(" AND {key} {cmp} ")).bind_int(n);
        }
        // From either end, or in creation-time order past a date bound that lies beyond the
        // version it resumes at: every row the dates let through is past it.
        _ => {}
    }
    if by_time {
        q.push(&format!(
            " ORDER BY mv.creation_time {dir}, mv.version {dir}"
        ));
    } else {
        q.push(&format!(" ORDER BY {key} {dir}"));
    }
    q.push(" LIMIT ").bind_int(limit as i64 + 1);
    q
}
