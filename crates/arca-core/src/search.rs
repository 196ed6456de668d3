//! search grammar (in progress)
