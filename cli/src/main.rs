//! # sable — the command line of Sable's participants
//!
//! Owns today: the regulator's audit, `sable audit scan` (a node's finalized blocks
//! into an archive on disk, resuming where the last scan stopped, with progress on
//! stderr) and `sable audit report` (the archive replayed under the regulator's key
//! into a report: a terminal summary, JSON, CSV tables or a self-contained HTML page).
//! Will own: the bank, compliance-officer and operator commands (view keys,
//! disclosures, holdings proofs, the threshold key ceremony; issue 23 §5 and the CLI
//! issue), all in this one binary.
//!
//! Must never: link the validator's crates, keep a secret key it was not handed on the
//! command line, or write plaintext anywhere but where its user asked.

mod audit;

use clap::{Parser, Subcommand};

/// Sable's command line.
#[derive(Parser)]
#[command(
    name = "sable",
    version,
    about = "Sable's command line (participants, regulators, operators)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The regulator's audit of the chain.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Audit(cmd) => audit::run(cmd).await,
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
