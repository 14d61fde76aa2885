//! The `actiond` command line: parses arguments, hands them to a subcommand of [`commands`], and
//! turns its errors into exit codes.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use actiond::dataset::DatasetError;
use actiond::dataset::DatasetSettings;
use actiond::error::{Error, ExitStatus, exit_code};
use actiond::evaluate::EvaluateError;
use actiond::evaluate::EvaluateSettings;
use commands::logging::LogFormat;
use commands::training::{Embeddings, EvaluateOutput};

/// Shown after `--help`: what a script or a unit file needs besides the options.
const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  runtime failure (an input failed, a window could not be classified, a sink failed)
  2  command-line usage
  3  configuration error (the file, key or stream is named)
  4  model, labels or ONNX Runtime error
  5  bad labelled data (dataset, evaluate)

Environment:
  ACTIOND__<TABLE>__<KEY>  overrides a pipeline key, e.g. ACTIOND__INFERENCE__WORKERS=4
  ORT_DYLIB_PATH           the ONNX Runtime library, when inference.onnxruntime is not set
  RUST_LOG                 log filter (default info, or as -v/-q say), e.g. RUST_LOG=actiond=debug;
                           GStreamer's own log (GST_DEBUG=2) comes through it, target gstreamer
  SSL_CERT_FILE            root certificates for mqtts:// sinks without ca_file
  MALLOC_ARENA_MAX         glibc malloc arenas (default here 2: RSS stays flat as cameras reconnect)
  NOTIFY_SOCKET, WATCHDOG_USEC  set by systemd: readiness, status and watchdog pings

Signals (run):
  SIGTERM, SIGINT  stop the inputs, finish the windows already cut, flush the sinks, exit 0
  SIGHUP           reread the pipeline file; [[streams]] added, removed or changed take effect";

#[derive(Parser)]
#[command(
    name = "actiond",
    version,
    about = "Watches video and says what is happening in it.",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How the log on stderr looks: `auto` (text; with journal priorities when stderr is the
    /// journal), `text`, or `json` (one object per line, for log shippers).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Auto)]
    log_format: LogFormat,
    /// More log: -v debug, -vv trace (RUST_LOG, when set, decides instead).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,
    /// Less log: -q warnings and errors, -qq errors only (RUST_LOG, when set, decides instead).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    quiet: u8,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline: window events go to stdout as JSON Lines, logs to stderr.
    Run {
        /// Pipeline file (TOML).
        pipeline: PathBuf,
    },
    /// Check a pipeline file, its model, labels and inputs without running it.
    Validate {
        /// Pipeline file (TOML).
        pipeline: PathBuf,
    },
    /// Cut labelled videos into training windows with a pipeline's own source and window
    /// settings, split by video: writes windows.npy, index.csv, labels.txt and dataset.json.
    Dataset {
        /// Pipeline file (TOML) whose [model] size, [source] and [window] settings cut the windows.
        pipeline: PathBuf,
        /// A folder per class (DIR/<label>/<video>) or a segments CSV
        /// (`video,start_s,end_s,label`); may be given several times.
        #[arg(long, required = true)]
        data: Vec<PathBuf>,
        /// Held-out videos in the same forms: never in training or validation.
        #[arg(long)]
        test: Vec<PathBuf>,
        /// Label of the time outside every segment (otherwise that time is not used).
        #[arg(long)]
        gap_label: Option<String>,
        /// Share of each label's videos kept for validation.
        #[arg(long, default_value_t = 0.2)]
        val_fraction: f64,
        /// Seed of the split.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Leave out videos that cannot be decoded or whose segments run past their end
        /// (listed in dataset.json) instead of failing.
        #[arg(long)]
        skip_bad: bool,
        /// Output folder (must not exist unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing output folder (only once the new dataset is complete).
        #[arg(long)]
        force: bool,
        /// Also write embeddings.npy (float32 [N,T,D]): the pipeline's own frame encoder's
        /// output for every frame of every window (a two-stage pipeline), for training a
        /// temporal head on them.
        #[arg(long)]
        embeddings: bool,
        /// Write embeddings.npy from this ONNX frame encoder ([N,H,W,3] or [N,3,H,W] -> [N,D],
        /// e.g. a pretrained backbone) instead, fed the pipeline's frames and preprocessing.
        #[arg(long, value_name = "ONNX", conflicts_with = "embeddings")]
        encoder: Option<PathBuf>,
    },
    /// Run each pipeline (one per head) end to end on held-out labelled videos and compare:
    /// accuracy overall and per class, macro-F1, confusion, frames/s, CPU-ms per frame, peak
    /// RSS, and the recommended head. Prints the Markdown report (or JSON with --json).
    Evaluate {
        /// Pipeline files (TOML), one per head; their [[streams]] are not used.
        #[arg(required = true)]
        pipelines: Vec<PathBuf>,
        /// Held-out videos: a folder per class or a segments CSV; may be given several times.
        #[arg(long, required = true)]
        truth: Vec<PathBuf>,
        /// Label of the time outside every segment (otherwise that time is not scored).
        #[arg(long)]
        gap_label: Option<String>,
        /// Videos decoded at once, as streams of one daemon.
        #[arg(long, default_value_t = 4)]
        videos_per_run: usize,
        /// Write report.md, report.html and evaluation.json into this folder (must not exist
        /// unless --force).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an existing output folder (only once the new reports are complete).
        #[arg(long)]
        force: bool,
        /// Print the figures as JSON (schema/evaluate.schema.json) instead of Markdown.
        #[arg(long)]
        json: bool,
    },
    /// Print a model's inputs, outputs, layout, window size, classes and opset.
    InspectModel {
        /// ONNX file.
        model: PathBuf,
        /// ONNX Runtime library to load (default: ORT_DYLIB_PATH, then the install locations).
        #[arg(long)]
        onnxruntime: Option<PathBuf>,
    },
    /// Print the shell completion script for SHELL to stdout (e.g. into
    /// /usr/share/bash-completion/completions/actiond).
    Completions {
        /// The shell the script is for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page actiond(1) to stdout, or write it and one page per subcommand
    /// (actiond-run(1), …) into a folder.
    Man {
        /// Folder to write actiond.1 and the subcommands' pages into.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    commands::memory::limit_allocator_arenas();
    let mut command = Cli::command();
    if std::env::args().skip(1).any(|a| a == "--version" || a == "-V") {
        // Only then: finding GStreamer and ONNX Runtime costs tens of milliseconds.
        command = command.version(&*Box::leak(commands::version::describe().into_boxed_str()));
    }
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    commands::logging::init(cli.log_format, commands::logging::level(cli.verbose, cli.quiet));
    let result = match cli.command {
        Command::Run { pipeline } => commands::run::run(&pipeline),
        Command::Validate { pipeline } => commands::run::validate(&pipeline),
        Command::Completions { shell } => commands::docs::completions(Cli::command(), shell),
        Command::Man { out } => commands::docs::man(Cli::command(), out.as_deref()),
        Command::InspectModel { model, onnxruntime } => {
            commands::inspect::inspect_model(&model, onnxruntime.as_deref())
        }
        Command::Dataset {
            pipeline,
            data,
            test,
            gap_label,
            val_fraction,
            seed,
            skip_bad,
            out,
            force,
            embeddings,
            encoder,
        } => {
            let settings =
                DatasetSettings { data, test, gap_label, val_fraction, seed, skip_bad, out, force };
            let embeddings = match (encoder, embeddings) {
                (Some(file), _) => Embeddings::Encoder(file), // clap refuses both at once
                (None, true) => Embeddings::Pipeline,
                (None, false) => Embeddings::None,
            };
            commands::training::dataset(&pipeline, &settings, &embeddings)
        }
        Command::Evaluate { pipelines, truth, gap_label, videos_per_run, out, force, json } => {
            let settings = EvaluateSettings { pipelines, truth, gap_label, videos_per_run, out, force };
            commands::training::evaluate(&settings, &EvaluateOutput { json })
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = exit_code_of(&e);
            // Under the journal, as an error (`journalctl -p err` shows it).
            commands::logging::final_error(&format!("{e:#}"));
            ExitCode::from(code)
        }
    }
}

/// The exit code an error stands for (README, "Commands"); anything the library did not type is
/// a runtime failure.
fn exit_code_of(e: &anyhow::Error) -> u8 {
    let typed: Option<&dyn ExitStatus> = e
        .downcast_ref::<Error>()
        .map(|e| e as &dyn ExitStatus)
        .or_else(|| e.downcast_ref::<DatasetError>().map(|e| e as &dyn ExitStatus))
        .or_else(|| e.downcast_ref::<EvaluateError>().map(|e| e as &dyn ExitStatus));
    typed.map_or(exit_code::RUNTIME, ExitStatus::exit_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_of_every_subcommand_is_documented() {
        let mut missing = Vec::new();
        commands::help_check::undocumented(&Cli::command(), "actiond", &mut missing);
        assert!(missing.is_empty(), "without help: {missing:?}");
        Cli::command().debug_assert();
    }
}
