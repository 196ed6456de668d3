//! The UI's own stylesheet and script, compiled into the binary (no Node step, no CDN, works
//! offline). Each is served under a name that carries a hash of its content, so browsers may
//! cache it for good and still see a new one after an upgrade.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
    versioned: String,
}

fn asset(name: &'static str, content_type: &'static str, body: &'static str) -> Asset {
    let hash = hex::encode(Sha256::digest(body.as_bytes()));
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    Asset {
        name,
        content_type,
        body,
        versioned: format!("{stem}.{}.{ext}", &hash[..12]),
    }
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    vec![
        asset(
            "app.css",
            "text/css; charset=utf-8",
            include_str!("../../assets/app.css"),
        ),
        asset(
            "app.js",
            "text/javascript; charset=utf-8",
            include_str!("../../assets/app.js"),
        ),
        asset(
            "version.js",
            "text/javascript; charset=utf-8",
            include_str!("../../assets/version.js"),
        ),
        asset(
            "upload.js",
            "text/javascript; charset=utf-8",
            include_str!("../../assets/upload.js"),
        ),
        asset(
            "favicon.svg",
            "image/svg+xml",
            include_str!("../../assets/favicon.svg"),
        ),
    ]
});

/// The name under which `file` is served today, e.g. `app.3f2a9c1b0d4e.css`.
pub fn versioned(file: &str) -> &'static str {
    ASSETS
        .iter()
        .find(|a| a.name == file)
        .map_or("missing", |a| a.versioned.as_str())
}

pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS
        .iter()
        .find(|a| a.versioned == file || a.name == file)
    else {
        return (StatusCode::NOT_FOUND, "No such file.").into_response();
    };
    let cache = if asset.versioned == file {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, cache),
        ],
        asset.body,
    )
        .into_response()
}
