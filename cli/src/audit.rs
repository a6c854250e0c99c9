//! `sable audit`: the scan of the chain and its reports, by the regulator (its key:
//! the whole network) or by a bank's compliance officer (the bank's full viewing key:
//! that bank only), into the same ledger and reports.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};

use crate::connection::{read_hex, Connection};
use sable_circuits::keys::{FullViewingKey, RegulatorSecretKey, FULL_VIEWING_KEY_SIZE};
use sable_compliance::{
    audit::{
        archive::ScanArchive,
        scan::{scan_node_blocks, ReadBlock},
        view::ViewScan,
        AuditError, AuditLedger, Keyring, SingleKey,
    },
    report::{Report, ReportConfig, Scope},
};

/// `sable audit …`
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Scans a node's finalized blocks into the archive, resuming after the last block
    /// archived, and reads each with the key as it goes.
    Scan(ScanArgs),
    /// Writes a report of everything archived.
    Report(ReportArgs),
}

/// Whose eyes: the regulator's (the whole network) or a bank's (that bank only).
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct KeyArgs {
    /// A regulator secret key (64 hex digits). Repeat it for each key the chain has
    /// had: a transaction's notes open with the key its header names, before or after
    /// a rotation.
    #[arg(long)]
    regulator_key: Vec<PathBuf>,
    /// A bank's full viewing key (192 hex digits: `sable keys viewing-key`).
    #[arg(long)]
    viewing_key: Option<PathBuf>,
}

/// `sable audit scan`
#[derive(Args)]
pub struct ScanArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    key: KeyArgs,
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
    #[command(flatten)]
    key: KeyArgs,
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
    /// Report on this participant only (its registry label; with a regulator key).
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

/// The regulator's keys in the files at `paths`.
fn regulator_keys(paths: &[PathBuf]) -> Result<Keyring> {
    let mut keys = Keyring::new();
    for path in paths {
        let bytes = read_hex::<32>(path, "regulator key")?;
        let sk = RegulatorSecretKey::from_bytes(&bytes)
            .with_context(|| format!("{}: not a regulator key", path.display()))?;
        keys = keys.with(SingleKey::new(sk));
    }
    Ok(keys)
}

/// The reader of the chain a key makes.
enum Eyes {
    /// The regulator's: every note on chain, each with the key its transaction names.
    Regulator(Keyring),
    /// A bank's: what it received, sent, spent and burnt.
    Bank(Box<ViewScan>),
}

/// A ledger and the eyes that fill it.
struct Audit {
    eyes: Eyes,
    ledger: AuditLedger,
}

impl Audit {
    /// An empty ledger for the key `args` names.
    fn new(args: &KeyArgs) -> Result<Self> {
        let eyes = match (&args.regulator_key[..], &args.viewing_key) {
            ([_, ..], _) => Eyes::Regulator(regulator_keys(&args.regulator_key)?),
            ([], Some(path)) => {
                let bytes = read_hex::<FULL_VIEWING_KEY_SIZE>(path, "full viewing key")?;
                let fvk = FullViewingKey::from_bytes(&bytes)
                    .with_context(|| format!("{}: not a full viewing key", path.display()))?;
                Eyes::Bank(Box::new(ViewScan::new(fvk)))
            }
            ([], None) => bail!("--regulator-key or --viewing-key is needed"),
        };
        Ok(Audit {
            eyes,
            ledger: AuditLedger::new(),
        })
    }

    fn apply(&mut self, block: &ReadBlock) -> Result<(), AuditError> {
        match &mut self.eyes {
            Eyes::Regulator(key) => self.ledger.apply_block(block.audit_block(), key),
            Eyes::Bank(view) => view.apply_block(&mut self.ledger, block.audit_block()),
        }
    }
}

/// Everything archived, read with the key `args` names.
fn replay(archive: &ScanArchive, args: &KeyArgs) -> Result<Audit> {
    let mut audit = Audit::new(args)?;
    for block in archive.read()? {
        audit
            .apply(&block)
            .with_context(|| format!("replaying {}", archive.path().display()))?;
    }
    Ok(audit)
}

async fn scan(args: ScanArgs) -> Result<()> {
    let archive = ScanArchive::at(&args.archive);
    let mut audit = replay(&archive, &args.key)?;
    let resumed = audit.ledger.height();
    let mut client = args.connection.connect().await?;
    let quiet = args.json;
    let done = scan_node_blocks(
        &mut client,
        resumed,
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
        |block| Ok(audit.apply(block)?),
        |blocks| Ok(archive.append(blocks)?),
    )
    .await
    .context("scanning")?;
    if !quiet && done.height > resumed {
        eprintln!();
    }
    let ledger = &audit.ledger;
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
    let archive = ScanArchive::at(&args.archive);
    if !archive.path().exists() {
        bail!(
            "{} does not exist: run `sable audit scan` first",
            archive.path().display()
        );
    }
    let audit = replay(&archive, &args.key)?;
    let ledger = &audit.ledger;
    let scope = match (&audit.eyes, &args.participant) {
        (Eyes::Bank(view), None) => Scope::Participant(view.owner()),
        (Eyes::Bank(_), Some(_)) => {
            bail!("a viewing key reports on its own bank only: leave out --participant")
        }
        (Eyes::Regulator(_), None) => Scope::Network,
        (Eyes::Regulator(_), Some(label)) => {
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
    let report = Report::build(ledger, scope, &config)?;
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
