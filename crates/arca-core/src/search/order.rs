//! `order_by` lists: each item is `"<key> [ASC|DESC]"`.
//!
//! The parsed list always ends in a total order, the tiebreaks MLflow's SQL store appends, so
//! pagination by offset never shows a row twice or skips one when sort keys tie.

use super::comparisons::parse_order_item;
use super::{OrderBy, OrderKey, SearchEntity};
use crate::Error;

/// Parses `order_by` and appends the entity's tiebreaks:
/// registered models get `name ASC` unless ordered by name; model versions default to
/// `last_updated_timestamp DESC, name ASC, version_number DESC` and otherwise get whichever of
/// `name ASC`, `version_number DESC` is missing.
pub fn parse_order_by(entity: SearchEntity, items: &[String]) -> Result<Vec<OrderBy>, Error> {
    super::comparisons::check_order_by_items(items)?;
    let mut order: Vec<OrderBy> = Vec::with_capacity(items.len() + 2);
    for item in items {
        let clause = parse_item(entity, item).map_err(|detail| {
            Error::invalid(format!("Invalid order_by clause '{item}': {detail}"))
        })?;
        if order.iter().any(|o| o.key == clause.key) {
            return Err(Error::invalid(format!(
                "Invalid order_by clause '{item}': the list already orders by {}; \
                 each key may appear once",
                clause.key
            )));
        }
        order.push(clause);
    }
    let tiebreaks: &[OrderBy] = match entity {
        SearchEntity::RegisteredModels => &[asc(OrderKey::Name)],
        SearchEntity::ModelVersions if order.is_empty() => &[
            desc(OrderKey::LastUpdatedTimestamp),
            asc(OrderKey::Name),
            desc(OrderKey::VersionNumber),
        ],
        SearchEntity::ModelVersions => &[asc(OrderKey::Name), desc(OrderKey::VersionNumber)],
    };
    for tiebreak in tiebreaks {
        if !order.iter().any(|o| o.key == tiebreak.key) {
            order.push(*tiebreak);
        }
    }
    Ok(order)
}

const fn asc(key: OrderKey) -> OrderBy {
    OrderBy {
        key,
        ascending: true,
    }
}

const fn desc(key: OrderKey) -> OrderBy {
    OrderBy {
        key,
        ascending: false,
    }
}

/// The keys each entity accepts, as written, with what they order by.
fn keys(entity: SearchEntity) -> &'static [(&'static str, OrderKey)] {
    match entity {
        // MLflow's SQL store maps both timestamp spellings onto last_updated_time and rejects
        // creation_timestamp for registered models.
        SearchEntity::RegisteredModels => &[
            ("name", OrderKey::Name),
            ("timestamp", OrderKey::LastUpdatedTimestamp),
            ("last_updated_timestamp", OrderKey::LastUpdatedTimestamp),
        ],
        SearchEntity::ModelVersions => &[
            ("name", OrderKey::Name),
            ("version_number", OrderKey::VersionNumber),
            ("creation_timestamp", OrderKey::CreationTimestamp),
            ("last_updated_timestamp", OrderKey::LastUpdatedTimestamp),
        ],
    }
}

fn parse_item(entity: SearchEntity, item: &str) -> Result<OrderBy, String> {
    let key_names: Vec<&str> = keys(entity).iter().map(|(name, _)| *name).collect();
    let expected = format!(
        "expected '<key> [ASC|DESC]' with key one of {}",
        key_names.join(", ")
    );
    let (ident, written, ascending) = parse_order_item(item, &expected)?;
    let key = match ident.prefix.as_deref() {
        None | Some("attribute" | "attributes") => keys(entity)
            .iter()
            .find(|(name, _)| *name == ident.key)
            .map(|(_, key)| *key),
        Some(_) => None,
    }
    .ok_or_else(|| format!("unsupported key '{written}'; {expected}"))?;
    Ok(OrderBy { key, ascending })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    const MODELS: SearchEntity = SearchEntity::RegisteredModels;
    const VERSIONS: SearchEntity = SearchEntity::ModelVersions;

    fn parse(entity: SearchEntity, items: &[&str]) -> Vec<OrderBy> {
        let items: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        parse_order_by(entity, &items).unwrap_or_else(|e| panic!("{items:?}: {e}"))
    }

    fn error(entity: SearchEntity, items: &[&str]) -> String {
        let items: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        let err = parse_order_by(entity, &items).expect_err("should fail");
        assert_eq!(err.code(), ErrorCode::InvalidParameterValue);
        err.to_string()
    }

    #[test]
    fn registered_models_default_to_name_ascending() {
        assert_eq!(parse(MODELS, &[]), [asc(OrderKey::Name)]);
        assert_eq!(parse(MODELS, &["name DESC"]), [desc(OrderKey::Name)]);
        assert_eq!(
            parse(MODELS, &["last_updated_timestamp DESC"]),
            [desc(OrderKey::LastUpdatedTimestamp), asc(OrderKey::Name)]
        );
    }

    #[test]
    fn registered_models_map_both_timestamps_to_last_updated() {
        assert_eq!(
            parse(MODELS, &["timestamp"]),
            [asc(OrderKey::LastUpdatedTimestamp), asc(OrderKey::Name)]
        );
        let err = error(MODELS, &["timestamp DESC", "last_updated_timestamp"]);
        assert_eq!(
            err,
            "Invalid order_by clause 'last_updated_timestamp': the list already orders by \
             last_updated_timestamp; each key may appear once"
        );
    }

    #[test]
    fn model_versions_default_to_most_recently_updated() {
        assert_eq!(
            parse(VERSIONS, &[]),
            [
                desc(OrderKey::LastUpdatedTimestamp),
                asc(OrderKey::Name),
                desc(OrderKey::VersionNumber),
            ]
        );
    }

    #[test]
    fn model_versions_append_missing_tiebreaks() {
        assert_eq!(
            parse(VERSIONS, &["creation_timestamp ASC"]),
            [
                asc(OrderKey::CreationTimestamp),
                asc(OrderKey::Name),
                desc(OrderKey::VersionNumber),
            ]
        );
        assert_eq!(
            parse(VERSIONS, &["version_number ASC"]),
            [asc(OrderKey::VersionNumber), asc(OrderKey::Name)]
        );
        assert_eq!(
            parse(VERSIONS, &["name DESC", "version_number"]),
            [desc(OrderKey::Name), asc(OrderKey::VersionNumber)]
        );
    }

    #[test]
    fn directions_are_case_insensitive_and_keys_may_be_quoted() {
        assert_eq!(
            parse(VERSIONS, &["`version_number` desc", "  name   Asc  "]),
            [desc(OrderKey::VersionNumber), asc(OrderKey::Name)]
        );
        assert_eq!(
            parse(MODELS, &["attribute.name dEsC"]),
            [desc(OrderKey::Name)]
        );
    }

    #[test]
    fn unknown_keys_list_the_allowed_ones() {
        assert_eq!(
            error(MODELS, &["creation_timestamp"]),
            "Invalid order_by clause 'creation_timestamp': unsupported key 'creation_timestamp'; \
             expected '<key> [ASC|DESC]' with key one of name, timestamp, last_updated_timestamp"
        );
        assert_eq!(
            error(VERSIONS, &["timestamp DESC"]),
            "Invalid order_by clause 'timestamp DESC': unsupported key 'timestamp'; \
             expected '<key> [ASC|DESC]' with key one of \
             name, version_number, creation_timestamp, last_updated_timestamp"
        );
        assert!(error(MODELS, &["tag.k"]).contains("unsupported key 'tag.k'"));
        assert!(error(MODELS, &["'name'"]).contains("unsupported key ''name''"));
        assert!(error(MODELS, &["NAME"]).contains("unsupported key 'NAME'"));
    }

    #[test]
    fn malformed_clauses_are_rejected() {
        assert!(error(MODELS, &[""]).starts_with("Invalid order_by clause '': it is empty"));
        assert!(error(MODELS, &["  "]).contains("it is empty"));
        assert_eq!(
            error(MODELS, &["name UP"]),
            "Invalid order_by clause 'name UP': unsupported direction 'UP'; expected ASC or DESC"
        );
        assert!(
            error(MODELS, &["name ASC, timestamp DESC"])
                .contains("unexpected ', timestamp DESC' after the direction")
        );
        assert!(error(MODELS, &["`name"]).contains("unterminated quoted text"));
        assert!(error(VERSIONS, &["name ASC", "name DESC"]).contains("already orders by name"));
    }
}
