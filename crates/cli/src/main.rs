//! `ykt`: the one binary of Yikatong. Every subcommand lives in its own module.

mod admin;
mod bench;
mod config;
mod consume;
mod demo;
mod progress;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: the service allocates and frees small buffers for every request and
/// statement, and glibc's allocator was a tenth of a settlement's CPU (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "ykt", version, about = "Yikatong 一卡通: the social security card and the medical insurance behind it")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve(serve::ServeArgs),
    /// Serve a fresh embedded database filled with demo data, and print tokens.
    Demo(demo::DemoArgs),
    /// Administration: tokens.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Region policy.
    #[command(subcommand)]
    Policy(admin::PolicyCommand),
    /// The working-day calendar.
    #[command(subcommand)]
    Calendar(admin::CalendarCommand),
    /// Batch jobs.
    #[command(subcommand)]
    Batch(admin::BatchCommand),
    /// Files out of the registry.
    #[command(subcommand)]
    Export(admin::ExportCommand),
    /// Files into the registry.
    #[command(subcommand)]
    Import(admin::ImportCommand),
    /// The medical-insurance catalogue.
    #[command(subcommand)]
    Catalog(admin::CatalogCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(admin::AuditCommand),
    /// Check every invariant of a whole database; exits non-zero on any violation.
    Verify(config::DbArgs),
    /// The month's clearing statement per pair of regions (R-XREG-3), from this
    /// region's own records.
    Clearing(admin::ClearingArgs),
    /// Benchmarks, each beside a baseline measured in the same run.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// A party's consumer of card notices (bank, transit, park) and its blocklist.
    Consume(consume::ConsumeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    config::init_logging(if matches!(cli.command, Command::Bench(_)) { "warn" } else { "info,sqlx=warn,tower_http=info" });
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ykt: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(a) => serve::run(a).await,
            Command::Demo(a) => demo::run(a).await,
            Command::Admin(c) => admin::run_admin(c).await,
            Command::Policy(c) => admin::run_policy(c),
            Command::Calendar(c) => admin::run_calendar(c).await,
            Command::Audit(c) => admin::run_audit(c).await,
            Command::Verify(db) => admin::run_verify(db).await,
            Command::Clearing(a) => admin::run_clearing(a).await,
            Command::Catalog(c) => admin::run_catalog(c).await,
            Command::Import(c) => admin::run_import(c).await,
            Command::Batch(c) => admin::run_batch(c).await,
            Command::Export(c) => admin::run_export(c).await,
            Command::Bench(c) => bench::run(c).await,
            Command::Consume(a) => consume::run(a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ykt: {message}");
            ExitCode::from(2)
        }
    }
}
