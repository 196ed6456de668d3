//! arca-store
