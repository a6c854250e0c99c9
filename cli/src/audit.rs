//! `sable audit`: the regulator's scan and reports.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};

use crate::connection::{read_hex, Connection};
use sable_circuits::keys::RegulatorSecretKey;
use sable_compliance::{
    audit::{archive::ScanArchive, scan::scan_node_with, AuditLedger, SingleKey},
    report::{Report, ReportConfig, Scope},
};

/// `sable audit …`
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Scans a node's finalized blocks into the archive, resuming after the last block
    /// archived, and checks each against the regulator's key as it goes.
    Scan(ScanArgs),
    /// Writes a report of everything archived.
    Report(ReportArgs),
}

/// `sable audit scan`
#[derive(Args)]
pub struct ScanArgs {
    #[command(flatten)]
    connection: Connection,
    /// The regulator's secret key (64 hex digits).
    #[arg(long)]
    regulator_key: PathBuf,
    /// The archive (created on the first scan).
    #[arg(long)]
    archive: PathBuf,
    /// Scan up to this height (default: the node's tip).
    #[arg(long)]
    to: Option<u64>,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

/// A report's format.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// A terminal summary.
    Text,
    /// Everything, as JSON.
    Json,
    /// One CSV file per table, into the `--out` directory.
    Csv,
    /// One self-contained HTML page with charts.
    Html,
}

/// `sable audit report`
#[derive(Args)]
pub struct ReportArgs {
    /// The regulator's secret key (64 hex digits).
    #[arg(long)]
    regulator_key: PathBuf,
    /// The archive a scan wrote.
    #[arg(long)]
    archive: PathBuf,
    /// The format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Where to write (a file; a directory for CSV). Default: standard output (text
    /// and JSON only).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Report on this participant only (its registry label).
    #[arg(long)]
    participant: Option<String>,
    /// Flag movements of at least this value.
    #[arg(long, default_value_t = ReportConfig::default().large_transaction)]
    large: u64,
    /// Blocks per period of the flows.
    #[arg(long, default_value_t = ReportConfig::default().period_blocks)]
    period: u64,
    /// How many of the largest movements to list.
    #[arg(long, default_value_t = ReportConfig::default().largest)]
    largest: usize,
}

/// Runs `cmd`.
pub async fn run(cmd: AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::Scan(args) => scan(args).await,
        AuditCommand::Report(args) => report(args),
    }
}

fn regulator_key(path: &Path) -> Result<SingleKey> {
    let bytes = read_hex::<32>(path, "regulator key")?;
    let sk = RegulatorSecretKey::from_bytes(&bytes)
        .with_context(|| format!("{}: not a regulator key", path.display()))?;
    Ok(SingleKey::new(sk))
}

/// The ledger of everything archived, opened under `key`.
fn replay(archive: &ScanArchive, key: &SingleKey) -> Result<AuditLedger> {
    let mut ledger = AuditLedger::new();
    for block in archive.read()? {
        ledger
            .apply_block(block.audit_block(), key)
            .with_context(|| format!("replaying {}", archive.path().display()))?;
    }
    Ok(ledger)
}

async fn scan(args: ScanArgs) -> Result<()> {
    let key = regulator_key(&args.regulator_key)?;
    let archive = ScanArchive::at(&args.archive);
    let mut ledger = replay(&archive, &key)?;
    let resumed = ledger.height();
    let mut client = args.connection.connect().await?;
    let quiet = args.json;
    let done = scan_node_with(
        &mut client,
        &mut ledger,
        &key,
        args.to,
        |p| {
            if !quiet {
                eprint!(
                    "\rscanned to block {} of {} ({} transactions)",
                    p.height, p.target, p.transactions
                );
                let _ = std::io::stderr().flush();
            }
        },
        |blocks| Ok(archive.append(blocks)?),
    )
    .await
    .context("scanning")?;
    if !quiet && done.height > resumed {
        eprintln!();
    }
    if args.json {
        println!(
            "{{\"resumed_from\":{resumed},\"height\":{},\"transactions\":{},\"notes\":{}}}",
            done.height,
            done.transactions,
            ledger.notes().len()
        );
    } else {
        println!(
            "audited blocks {}..={}: {} transactions; the archive holds {} notes up to block {}",
            resumed + 1,
            done.height,
            done.transactions,
            ledger.notes().len(),
            ledger.height()
        );
    }
    Ok(())
}

fn report(args: ReportArgs) -> Result<()> {
    let key = regulator_key(&args.regulator_key)?;
    let archive = ScanArchive::at(&args.archive);
    if !archive.path().exists() {
        bail!(
            "{} does not exist: run `sable audit scan` first",
            archive.path().display()
        );
    }
    let ledger = replay(&archive, &key)?;
    let scope = match &args.participant {
        None => Scope::Network,
        Some(label) => {
            let dir = ledger.directory();
            let found = dir
                .participants()
                .find(|(_, p)| &p.label == label)
                .map(|(tag, _)| *tag);
            match found {
                Some(tag) => Scope::Participant(tag),
                None => {
                    let known: Vec<&str> =
                        dir.participants().map(|(_, p)| p.label.as_str()).collect();
                    bail!("no participant is labelled {label:?}; the registry lists {known:?}")
                }
            }
        }
    };
    let config = ReportConfig {
        large_transaction: args.large,
        period_blocks: args.period,
        largest: args.largest,
        ..ReportConfig::default()
    };
    let report = Report::build(&ledger, scope, &config)?;
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    };
    match (args.format, &args.out) {
        (Format::Text, None) => print!("{}", report.to_text()),
        (Format::Json, None) => println!("{}", report.to_json()),
        (Format::Text, Some(out)) => write(out, &report.to_text())?,
        (Format::Json, Some(out)) => write(out, &report.to_json())?,
        (Format::Html, Some(out)) => write(out, &report.to_html())?,
        (Format::Csv, Some(dir)) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            for (name, table) in report.csv_tables() {
                write(&dir.join(name), &table)?;
            }
        }
        (Format::Html | Format::Csv, None) => {
            bail!("--out is needed for HTML (a file) and CSV (a directory)")
        }
    }
    Ok(())
}
