//! A person's walk through the web UI in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, driven with fantoccini) against a spawned `arca server`, with axe-core
//! checking each page type for serious accessibility problems.
//!
//! The tests are `#[ignore]`d in a plain `cargo test`, like the other tests that need something
//! installed: `scripts/test.sh` installs Chromium, chromium-driver and axe-core (into
//! `.test-env/`), runs them with `--run-ignored all` and sets `ARCA_REQUIRE_BROWSER=1`, so that a
//! missing browser fails there instead of skipping. A walk that times out leaves a screenshot in
//! `target/browser-screenshots/`.
//!
//! To add a page to the walk: open it with `browser.goto(..)`, act with `fill`/`click`, wait
//! with `wait_for_path`/`find`, assert on `text_of`, and call `axe_check`; add it to
//! `screenshots::PAGES` to have it in the docs' screenshots.

mod accessibility;
mod harness;
mod models;
mod screenshots;
#[path = "../cli/support.rs"]
#[allow(dead_code)] // shared with the CLI tests; this binary uses a part of it
mod support;
mod upload;
mod walk;
