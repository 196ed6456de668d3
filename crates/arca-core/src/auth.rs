//! MLflow's permission levels, shared by the store (which keeps grants) and the server (which
//! checks them). The order of the variants is the order of the levels: each includes the ones
//! before it, so "may the caller do X" is a comparison.

use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// MLflow 3's explicit "never", for a grant that overrides a permissive default.
    Deny,
    NoPermissions,
    Read,
    /// MLflow 3's level between READ and EDIT: use a resource (load a model) without changing it.
    Use,
    Edit,
    Manage,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Permission::Deny,
        Permission::NoPermissions,
        Permission::Read,
        Permission::Use,
        Permission::Edit,
        Permission::Manage,
    ];

    pub fn parse(s: &str) -> Result<Permission, Error> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "Invalid permission '{s}'. Valid permissions are: DENY, NO_PERMISSIONS, READ, \
                     USE, EDIT, MANAGE."
                ))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Deny => "DENY",
            Permission::NoPermissions => "NO_PERMISSIONS",
            Permission::Read => "READ",
            Permission::Use => "USE",
            Permission::Edit => "EDIT",
            Permission::Manage => "MANAGE",
        }
    }

    /// What a per-resource grant may be, as MLflow 3.17 accepts it (NO_PERMISSIONS is only a
    /// default; DENY is its grant).
    pub fn grantable(self) -> bool {
        self != Permission::NoPermissions
    }

    /// One resource's grants folded into one, as MLflow folds the grants of a user's roles (its
    /// per-user grants are one more role there): a DENY among them wins, else the highest.
    /// `None` when there is no grant.
    pub fn fold(grants: impl IntoIterator<Item = Permission>) -> Option<Permission> {
        let mut best: Option<Permission> = None;
        for grant in grants {
            if grant == Permission::Deny {
                return Some(Permission::Deny);
            }
            best = best.max(Some(grant));
        }
        best
    }

    /// What a user may do given their folded grant: the default without one; with one, never
    /// less than the default (MLflow floors a positive grant at `default_permission`), while
    /// DENY and NO_PERMISSIONS stand as they are.
    pub fn effective(folded: Option<Permission>, default: Permission) -> Permission {
        match folded {
            None => default,
            Some(p @ (Permission::Deny | Permission::NoPermissions)) => p,
            Some(p) => p.max(default),
        }
    }

    /// The levels that include READ, as their stored names.
    pub fn readable_names() -> [&'static str; 4] {
        ["READ", "USE", "EDIT", "MANAGE"]
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_include_the_ones_below_and_parse_from_their_names() {
        assert!(Permission::Manage > Permission::Edit);
        assert!(Permission::Use > Permission::Read);
        assert!(Permission::Read > Permission::NoPermissions);
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()).unwrap(), p);
        }
        assert!(Permission::parse("read").is_err());
        assert!(Permission::Deny < Permission::NoPermissions);
    }

    #[test]
    fn a_deny_wins_the_fold_and_a_positive_grant_is_floored_at_the_default() {
        use Permission::*;
        assert_eq!(Permission::fold([Read, Manage, Edit]), Some(Manage));
        assert_eq!(Permission::fold([Manage, Deny, Read]), Some(Deny));
        assert_eq!(Permission::fold([]), None);
        assert_eq!(Permission::effective(None, Read), Read);
        assert_eq!(Permission::effective(Some(Read), Edit), Edit);
        assert_eq!(Permission::effective(Some(Manage), Read), Manage);
        assert_eq!(Permission::effective(Some(Deny), Manage), Deny);
        assert_eq!(
            Permission::effective(Some(NoPermissions), Read),
            NoPermissions
        );
    }
}
