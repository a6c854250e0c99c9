//! `sable keys epoch` and `sable keys check-epoch`: a compliance officer issues, from
//! its bank's full viewing key, the key to a range of epochs for an auditor; the
//! auditor checks it against the schedule the chain registered for that bank.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use sable_circuits::{epoch::Epoch, keys::FullViewingKey, keys::FULL_VIEWING_KEY_SIZE};
use sable_compliance::epoch_key::IssuedEpochKey;

use crate::connection::{read_hex, Connection};

/// `sable keys epoch`
#[derive(Args)]
pub struct IssueArgs {
    /// The bank's full viewing key (192 hex digits: `sable keys viewing-key`).
    #[arg(long)]
    viewing_key: PathBuf,
    /// The first epoch the key opens.
    #[arg(long)]
    from: Epoch,
    /// The last epoch the key opens.
    #[arg(long)]
    to: Epoch,
    /// Where to write the key (JSON); it opens the bank's activity in those epochs.
    #[arg(long)]
    out: PathBuf,
}

/// Writes the key to epochs `from..=to` of the bank whose full viewing key is given.
pub fn issue(args: IssueArgs) -> Result<()> {
    let fvk = FullViewingKey::from_bytes(&read_hex::<FULL_VIEWING_KEY_SIZE>(
        &args.viewing_key,
        "full viewing key",
    )?)
    .with_context(|| format!("{}: not a full viewing key", args.viewing_key.display()))?;
    let issued = IssuedEpochKey::issue(&fvk, args.from, args.to)?;
    std::fs::write(&args.out, issued.to_json())
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote the key to epochs {}..={} of {} ({} node secrets) to {}",
        args.from,
        args.to,
        hex::encode(issued.participant.to_bytes()),
        issued.key.node_count(),
        args.out.display()
    );
    Ok(())
}

/// `sable keys check-epoch`
#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    connection: Connection,
    /// The key file (`sable keys epoch`).
    key_file: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Checks an epoch key against the schedule the node's registry holds for the
/// participant it names.
pub async fn check(args: CheckArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.key_file)
        .with_context(|| format!("reading {}", args.key_file.display()))?;
    let issued =
        IssuedEpochKey::from_json(&text).with_context(|| format!("{}", args.key_file.display()))?;
    let participant = hex::encode(issued.participant.to_bytes());
    let mut client = args.connection.connect().await?;
    let (membership, root) = client
        .registry_membership(&issued.participant)
        .await
        .with_context(|| format!("the registration of {participant}"))?;
    issued
        .check(&membership.schedule)
        .with_context(|| format!("the key does not open what it says for {participant}"))?;
    let range = issued.key.epochs();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "participant": participant,
                "first_epoch": range.start(),
                "last_epoch": range.end(),
                "registry_root": hex::encode(root.to_bytes()),
            })
        );
    } else {
        println!(
            "the key opens epochs {}..={} of {participant}: each epoch's key is the one the \
             registry holds for it (registry root {})",
            range.start(),
            range.end(),
            hex::encode(root.to_bytes())
        );
    }
    Ok(())
}
