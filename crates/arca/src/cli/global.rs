//! Global flags in either place: `arca --output json models list` and `arca models list --output
//! json` mean the same, as they do in git, kubectl and docker.
//!
//! clap's `global = true` only reaches down from where a flag is declared, and declaring the flags
//! on `arca` itself would hand them to every subcommand: `arca server`, which must refuse them,
//! and `arca pull`, whose `--output` is a folder. So each command declares the flags it takes
//! (global below it, so they may follow any of its subcommands), `arca` declares them once more
//! for the place before the command, and [`Cli`]'s parsing moves those into the command. A flag
//! given in both places takes the value given after the command, as kubectl does, so a shell alias
//! such as `arca='arca --tracking-uri …'` can still be overridden for one command.
//!
//! A command that has no use for a flag refuses it in both places, with a message that says what
//! to use instead, rather than ignoring it.

use super::output::Format;
use super::{Command, RegistryArgs};
use clap::error::ErrorKind;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser};

/// Where the global flags are listed in `--help`, so they read as one group at every level.
pub const HEADING: &str = "Global options (before or after the command)";

// The short texts fit the 63 columns `-h` leaves them in a 100-column terminal. This build of
// clap does not wrap help, so the long texts are wrapped by hand to fit under their 10-column
// indent.
pub const TRACKING_URI_HELP: &str = "The registry: a URL, a data directory or a database URI";
pub const TRACKING_URI_LONG_HELP: &str = "\
The registry: http(s)://host:port (Arca or an mlflow server), an Arca data directory,
or a database opened directly (sqlite:///path.db, postgresql://user@host/db).
When not given: $ARCA_TRACKING_URI, then $MLFLOW_TRACKING_URI, then http://127.0.0.1:5000.";
pub const ARTIFACTS_HELP: &str = "Where a registry opened directly keeps its files";
pub const ARTIFACTS_LONG_HELP: &str = "\
For a registry opened directly (a data directory or database URI): where its files are,
as given to `arca server --artifacts-destination`.
When not given: $ARCA_ARTIFACTS_DESTINATION, then <data dir>/artifacts.";
pub const OUTPUT_HELP: &str = "Print results as `table` (default) or `json`";
pub const OUTPUT_LONG_HELP: &str = "\
Print results as `table` (the default, sized to the terminal) or `json` (for scripts).
Before `pull` it sets pull's print style; after `pull`, --output is the folder to pull
into and --format the print style.";

/// The global flags as given before the command. Their ids differ from the commands' own so
/// clap never mixes the two; [`Cli`] does that, in one place.
#[derive(Args, Debug, Default)]
struct LeadingArgs {
    #[arg(id = "leading_tracking_uri", long = "tracking-uri", value_name = "URI",
        help = TRACKING_URI_HELP, long_help = TRACKING_URI_LONG_HELP,
        help_heading = HEADING, display_order = 900)]
    tracking_uri: Option<String>,
    #[arg(id = "leading_artifacts_destination", long = "artifacts-destination",
        value_name = "URI", help = ARTIFACTS_HELP, long_help = ARTIFACTS_LONG_HELP,
        help_heading = HEADING, display_order = 901)]
    artifacts_destination: Option<String>,
    #[arg(id = "leading_output", long = "output", short = 'o', visible_alias = "format",
        value_enum, value_name = "FORMAT", help = OUTPUT_HELP, long_help = OUTPUT_LONG_HELP,
        hide_possible_values = true, help_heading = HEADING, display_order = 902)]
    output: Option<Format>,
}

/// The command line as clap derives it; [`Cli`] is this with the leading flags moved into the
/// command.
#[derive(Parser)]
#[command(
    name = "arca",
    version,
    about = "A fast, MLflow-compatible model registry",
    long_about = "A fast, MLflow-compatible model registry.\n\n\
        `arca server` runs the registry. The other commands manage models in any MLflow-compatible\n\
        registry: an Arca or `mlflow server` at an http(s):// address, or an Arca data directory\n\
        or database opened directly. Global options may go before or after the command.",
    after_help = "Exit codes: 0 success, 1 failure, 2 invalid input, 3 not found, 4 already exists,\n\
        5 registry unreachable, 6 credentials refused, 7 file integrity check failed."
)]
struct Parsed {
    #[command(flatten)]
    leading: LeadingArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flag {
    TrackingUri,
    ArtifactsDestination,
    Output,
}

const FLAGS: [Flag; 3] = [Flag::TrackingUri, Flag::ArtifactsDestination, Flag::Output];

impl Flag {
    fn long(self) -> &'static str {
        match self {
            Flag::TrackingUri => "tracking-uri",
            Flag::ArtifactsDestination => "artifacts-destination",
            Flag::Output => "output",
        }
    }

    /// The id of the hidden argument that catches this flag after a command that refuses it.
    fn refused_id(self) -> &'static str {
        match self {
            Flag::TrackingUri => "refused_tracking_uri",
            Flag::ArtifactsDestination => "refused_artifacts_destination",
            Flag::Output => "refused_output",
        }
    }

    fn given_before(self, leading: &LeadingArgs) -> bool {
        match self {
            Flag::TrackingUri => leading.tracking_uri.is_some(),
            Flag::ArtifactsDestination => leading.artifacts_destination.is_some(),
            Flag::Output => leading.output.is_some(),
        }
    }
}

/// Why `arca <command>` does not take `flag`, or `None` when it does.
fn refusal(command: &str, flag: Flag) -> Option<String> {
    let long = flag.long();
    match (command, flag) {
        ("models" | "versions" | "aliases" | "pull", _) | ("copy", Flag::Output) => None,
        ("copy", Flag::TrackingUri) => Some(
            "`arca copy` does not take --tracking-uri; name the registries with --from and --to"
                .into(),
        ),
        ("copy", Flag::ArtifactsDestination) => Some(
            "`arca copy` does not take --artifacts-destination; use --from-artifacts-destination \
             and --to-artifacts-destination"
                .into(),
        ),
        // After `server` this is the server's own flag; only the place before reaches here.
        ("server", Flag::ArtifactsDestination) => Some(
            "--artifacts-destination before `server` is a registry command's flag; to set where \
             the server keeps model files, put it after: `arca server --artifacts-destination URI`"
                .into(),
        ),
        ("server", Flag::TrackingUri) => Some(
            "`arca server` does not take --tracking-uri: it serves a registry rather than using \
             one (its store is set with --backend-store-uri)"
                .into(),
        ),
        ("server", Flag::Output) => Some(
            "`arca server` does not take --output; it is for the commands that manage models"
                .into(),
        ),
        (other, _) => Some(format!("`arca {other}` does not take --{long}")),
    }
}

/// Adds a hidden argument for each global flag a command refuses, so that flag after the command
/// gets [`refusal`]'s message instead of clap's bare "unexpected argument".
fn with_refusals(mut cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(&name, |mut sub| {
            for flag in FLAGS {
                let taken = sub
                    .get_arguments()
                    .any(|a| a.get_long() == Some(flag.long()));
                if taken || refusal(&name, flag).is_none() {
                    continue;
                }
                let mut arg = clap::Arg::new(flag.refused_id())
                    .long(flag.long())
                    .value_name("VALUE")
                    .hide(true);
                if flag == Flag::Output {
                    arg = arg.short('o').alias("format");
                }
                sub = sub.arg(arg);
            }
            sub
        });
    }
    cmd
}

/// The command line for shell completion scripts: without the hidden refusals, which some
/// shells' generators would otherwise offer as flags of `arca server`.
pub fn completion_command() -> clap::Command {
    Parsed::command()
}

/// The parsed command line: the command, with the global flags given before it moved in.
pub struct Cli {
    pub command: Command,
}

impl Parser for Cli {}

impl CommandFactory for Cli {
    fn command() -> clap::Command {
        with_refusals(Parsed::command())
    }

    fn command_for_update() -> clap::Command {
        with_refusals(Parsed::command_for_update())
    }
}

impl FromArgMatches for Cli {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Cli, clap::Error> {
        let parsed = Parsed::from_arg_matches(matches)?;
        if let Some((name, sub)) = matches.subcommand() {
            for flag in FLAGS {
                let after = sub.try_contains_id(flag.refused_id()).unwrap_or(false);
                if (after || flag.given_before(&parsed.leading))
                    && let Some(message) = refusal(name, flag)
                {
                    return Err(clap::Error::raw(ErrorKind::ArgumentConflict, message));
                }
            }
        }
        Ok(Cli {
            command: parsed.command.with_leading(parsed.leading),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Cli::from_arg_matches(matches)?;
        Ok(())
    }
}

impl RegistryArgs {
    fn fill_from(&mut self, leading: &LeadingArgs) {
        if self.tracking_uri.is_none() {
            self.tracking_uri.clone_from(&leading.tracking_uri);
        }
        if self.artifacts_destination.is_none() {
            self.artifacts_destination
                .clone_from(&leading.artifacts_destination);
        }
    }
}

impl Command {
    /// The command with the flags given before it, where it did not give them itself.
    fn with_leading(mut self, leading: LeadingArgs) -> Command {
        let output = leading.output;
        match &mut self {
            Command::Models(cmd) => {
                cmd.registry.fill_from(&leading);
                cmd.output.output = cmd.output.output.or(output);
            }
            Command::Versions(cmd) => {
                cmd.registry.fill_from(&leading);
                cmd.output.output = cmd.output.output.or(output);
            }
            Command::Aliases(cmd) => {
                cmd.registry.fill_from(&leading);
                cmd.output.output = cmd.output.output.or(output);
            }
            Command::Webhooks(cmd) => {
                cmd.registry.fill_from(&leading);
                cmd.output.output = cmd.output.output.or(output);
            }
            Command::History(cmd) => {
                cmd.registry.fill_from(&leading);
                cmd.output.output = cmd.output.output.or(output);
            }
            Command::Pull(args) => {
                args.registry.fill_from(&leading);
                // Pull's own --output is its folder; the print style is its --format.
                args.format = args.format.or(output);
            }
            Command::Copy(args) => args.output.output = args.output.output.or(output),
            // `from_arg_matches` refused any leading flag for these.
            Command::Server(_) | Command::Admin(_) | Command::Completions(_) => {}
        }
        self
    }
}
