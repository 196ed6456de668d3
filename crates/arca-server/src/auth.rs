//! Who is calling. Authentication (issue 12) puts an [`Identity`] into the request's extensions
//! for a caller it recognized; the event log records that name as the actor of the changes the
//! request makes (`actor.rs`).

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
}
