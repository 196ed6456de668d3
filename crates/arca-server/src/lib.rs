//! arca-server
