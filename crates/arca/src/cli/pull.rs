//! `arca pull MODEL_URI --output DIR`: a version's files onto disk, for deployment.
//!
//! When the registry records digests (Arca, over HTTP or opened directly), each file's size and
//! SHA-256 are checked before it is renamed into place; a mismatch fails the pull with exit code
//! 7 and keeps nothing of that file. A plain MLflow server records none: the files are written
//! and a note on standard error says they were not verified.

use super::output::{self, Format, Table};
use super::transfer::DiskSink;
use super::{CliResult, RegistryArgs, target};
use arca_core::registry::ModelUri;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args)]
pub struct PullArgs {
    #[command(flatten)]
    pub(super) registry: RegistryArgs,
    /// The version: models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest or
    /// models:/<name>@<alias>.
    model_uri: String,
    /// The folder to write the files into; created if missing. Files of the same name are
    /// replaced, other files there are left alone, so pull into an empty folder to deploy.
    #[arg(long, short = 'o', value_name = "DIR")]
    output: PathBuf,
    /// How to print the result: a table, or JSON for scripts [default: table]. Before `pull`,
    /// `--output FORMAT` sets it too.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(super) format: Option<Format>,
    /// Pull the version the URI named at this time (epoch milliseconds or RFC 3339), read from
    /// Arca's event log: e.g. what `@champion` was last Tuesday.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
}

pub async fn run(args: PullArgs) -> CliResult {
    let uri = ModelUri::parse(&args.model_uri)?;
    let registry = target::open(&args.registry, false).await?;
    let r = registry.get();
    let mut sink = DiskSink::new(&args.output, true);
    let result = async {
        let uri = match &args.as_of {
            Some(as_of) => super::history::resolve_as_of(&registry, &uri, as_of).await?,
            None => uri.clone(),
        };
        let version = r.resolve_model_uri(&uri).await?;
        let files = r
            .download_version(&version.name, version.version, &mut sink)
            .await;
        sink.finish();
        let files = files?;
        if let Some(reason) = &files.unverified_reason {
            eprintln!("note: {reason}.");
        } else if !sink.unrecorded.is_empty() {
            eprintln!(
                "note: the registry has no recorded SHA-256 for {}; not verified.",
                sink.unrecorded.join(", ")
            );
        }
        let verified = files.unverified_reason.is_none() && sink.unrecorded.is_empty();
        let total: u64 = sink.pulled.iter().map(|f| f.size).sum();
        match args.format.unwrap_or(Format::Table) {
            Format::Json => output::print_json(&json!({
                "model_uri": uri.to_string(),
                "name": version.name,
                "version": version.version.get(),
                "source": files.root,
                "output": args.output.display().to_string(),
                "verified": verified,
                "files": sink.pulled.iter().map(|f| json!({
                    "path": f.path, "size": f.size, "sha256": f.sha256, "verified": f.verified,
                })).collect::<Vec<_>>(),
            })),
            Format::Table => {
                let mut table = Table::new(&["PATH", "SIZE", "SHA256", "VERIFIED"]);
                for f in &sink.pulled {
                    table.row(vec![
                        f.path.clone(),
                        f.size.to_string(),
                        f.sha256.clone(),
                        if f.verified { "yes" } else { "no" }.into(),
                    ]);
                }
                table.print();
                eprintln!(
                    "Pulled {} version {} ({} files, {total} bytes) into {}{}.",
                    version.name,
                    version.version,
                    sink.pulled.len(),
                    args.output.display(),
                    if verified { "; SHA-256 verified" } else { "" }
                );
            }
        }
        Ok(())
    }
    .await;
    drop(sink);
    registry.close().await;
    result
}
