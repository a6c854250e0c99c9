//! # sable — the command line of Sable's participants
//!
//! Owns today: the audit, `sable audit scan` (a node's finalized blocks into an
//! archive on disk, resuming where the last scan stopped, with progress on stderr) and
//! `sable audit report` (the archive replayed into a report: a terminal summary, JSON,
//! CSV tables or a self-contained HTML page), under the regulator's key (the network)
//! or a bank's full viewing key (that bank, for its compliance officer).
//! A bank's full viewing key for its compliance officer (`sable keys viewing-key`), a
//! verifiable disclosure of chosen fields of one note to a named third party
//! (`sable disclose`), and its check against a node by that party
//! (`sable verify-disclosure`). A proof that the bank held at least an amount of an
//! asset at a height, made with its full viewing key (`sable prove-holdings`), and its
//! check against a node (`sable verify-holdings`). A key to a range of epochs of the
//! bank's activity for an auditor (`sable keys epoch`), and its check against the
//! schedule the chain registered for the bank (`sable keys check-epoch`).
//! Will own: the rest of the bank, compliance-officer and operator commands (the scan
//! with an epoch key, the threshold key ceremony; issue 23 §5 and the CLI issue),
//! all in this one binary.
//!
//! Must never: link the validator's crates, keep a secret key it was not handed on the
//! command line, or write plaintext anywhere but where its user asked.

mod audit;
mod connection;
mod disclose;
mod epoch;
mod holdings;

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
    /// The audit of the chain: the regulator's, or a compliance officer's of its bank.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Discloses chosen fields of one note to a named third party (a compliance officer,
    /// with the bank's full viewing key).
    Disclose(disclose::DiscloseArgs),
    /// Checks a disclosure package addressed to you against your node.
    VerifyDisclosure(connection::Recipient),
    /// Proves to a named third party that the bank held at least an amount of an asset
    /// at a height (a compliance officer, with the bank's full viewing key).
    ProveHoldings(holdings::ProveArgs),
    /// Checks a proof of holdings addressed to you against your node.
    VerifyHoldings(connection::Recipient),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Prints the full viewing key of a bank's spending key, for its compliance officer
    /// (it sees everything the bank receives and sends; it cannot spend).
    ViewingKey(disclose::ViewingKeyArgs),
    /// Writes the key to a range of epochs of a bank's activity, for an auditor (from
    /// the bank's full viewing key; it opens those epochs and no other).
    Epoch(epoch::IssueArgs),
    /// Checks an epoch key against the schedule the chain registered for the
    /// participant it names.
    CheckEpoch(epoch::CheckArgs),
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Audit(cmd) => audit::run(cmd).await,
        Command::Keys(KeysCommand::ViewingKey(args)) => disclose::viewing_key(args),
        Command::Keys(KeysCommand::Epoch(args)) => epoch::issue(args),
        Command::Keys(KeysCommand::CheckEpoch(args)) => epoch::check(args).await,
        Command::Disclose(args) => disclose::disclose(args).await,
        Command::VerifyDisclosure(args) => disclose::verify(args).await,
        Command::ProveHoldings(args) => holdings::prove(args).await,
        Command::VerifyHoldings(args) => holdings::verify(args).await,
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
