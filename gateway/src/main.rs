//! `edgex-gateway`: the all-in-one binary.
//!
//! * `demo`: simulator, device-modbus, core, broker and export in one process, with a live view.
//! * `run --config gateway.yaml`: any of the services in one process, each with its own section.
//! * `profile lint|schema|new`: device-profile authoring tools.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use edgex_gateway::{demo, lint, modbus_csv, run, schema};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "EdgeX gateway: core, device services and Mainflux export in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run simulator, device-modbus, core-bridge (embedded broker and store) and a console export,
    /// all local, with a live view; Ctrl-C stops everything.
    Demo {
        /// Seconds to run before stopping by itself (default: until Ctrl-C).
        #[arg(long)]
        seconds: Option<u64>,
        /// Print one plain status line per second instead of redrawing the screen.
        #[arg(long)]
        plain: bool,
    },
    /// Run the services configured in a gateway file in this process.
    Run {
        /// Gateway configuration (YAML) with a section per service to run.
        #[arg(long, short = 'c')]
        config: PathBuf,
    },
    /// Device-profile tools.
    Profile {
        #[command(subcommand)]
        command: ProfileCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ProfileCommand {
    /// Check device profiles and device files; exits non-zero when any file has errors.
    Lint {
        /// Profile or device files (YAML or JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
    },
    /// Print (or write) the JSON Schemas of device profiles and device files.
    Schema {
        /// Write `device-profile.schema.json` and `device-list.schema.json` into this directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Generate a profile from a Modbus register-map CSV (name, table, address, type, scale, units, access).
    New {
        /// Register map.
        #[arg(long = "modbus-csv")]
        modbus_csv: PathBuf,
        /// Profile name (default: the CSV file name).
        #[arg(long)]
        name: Option<String>,
        /// Manufacturer.
        #[arg(long, default_value = "unknown")]
        manufacturer: String,
        /// Model.
        #[arg(long, default_value = "unknown")]
        model: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo { seconds, plain } => {
            runtime()?.block_on(async {
                let shutdown = stop_on_signals(seconds);
                demo::run(
                    demo::DemoOptions::default(),
                    demo::Terminal::stdout(plain),
                    shutdown,
                )
                .await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { config } => {
            let cfg = run::GatewayConfig::load(&config, std::env::vars())?;
            runtime()?.block_on(async {
                edgex_bootstrap::telemetry::init_tracing(
                    &cfg.log_level,
                    std::env::var("RUST_LOG").ok(),
                );
                run::run(cfg, stop_on_signals(None)).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Profile { command } => profile(command),
    }
}

fn profile(command: ProfileCommand) -> anyhow::Result<ExitCode> {
    match command {
        ProfileCommand::Lint { files, strict } => {
            let (mut errors, mut warnings) = (0, 0);
            for f in &files {
                for finding in lint::lint_file(f, None) {
                    match finding.severity {
                        lint::Severity::Error => errors += 1,
                        lint::Severity::Warning => warnings += 1,
                    }
                    println!("{finding}");
                }
            }
            eprintln!(
                "{} file(s): {errors} error(s), {warnings} warning(s)",
                files.len()
            );
            Ok(if errors > 0 || (strict && warnings > 0) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        ProfileCommand::Schema { out } => {
            let schemas = schema::schemas();
            match out {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                    for (name, text) in schemas {
                        let path = dir.join(name);
                        std::fs::write(&path, text)
                            .with_context(|| format!("writing {}", path.display()))?;
                        eprintln!("wrote {}", path.display());
                    }
                }
                None => {
                    for (_, text) in schemas {
                        println!("{text}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ProfileCommand::New {
            modbus_csv,
            name,
            manufacturer,
            model,
        } => {
            let text = std::fs::read_to_string(&modbus_csv)
                .with_context(|| format!("reading {}", modbus_csv.display()))?;
            let name = name.unwrap_or_else(|| {
                modbus_csv
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "profile".into())
            });
            let header = modbus_csv::ProfileHeader {
                name,
                manufacturer,
                model,
            };
            let yaml =
                modbus_csv::profile_from_csv(&modbus_csv.display().to_string(), &text, &header)?;
            print!("{yaml}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A token cancelled by SIGINT/SIGTERM, or after `seconds` when given.
fn stop_on_signals(seconds: Option<u64>) -> CancellationToken {
    let token = CancellationToken::new();
    edgex_device_sdk::bootstrap::cancel_on_signals(token.clone());
    if let Some(s) = seconds {
        let t = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(s)).await;
            t.cancel();
        });
    }
    token
}
