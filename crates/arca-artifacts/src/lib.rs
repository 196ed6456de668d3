//! arca-artifacts
