//! `sable-node`: the Sable validator daemon.
//!
//! ```text
//! sable-node run    --config DIR/validator-0/config.toml             one node
//! sable-node verify-l1 --rpc URL --contract ADDR --config FILE     re-verify the chain from L1
//!                      [--from-block N] [--log-page N] [--beacon URL [--seconds-per-slot 12]]
//! ```
//!
//! A development network (dev PKI, configurations, N validators on loopback) is written
//! and started by `sable-devnet`, in the test kit.

use std::{path::PathBuf, sync::Arc};

use anyhow::Result;
use clap::{Parser, Subcommand};
use sable_execution::AllowAll;
use sable_node::{config::NodeConfig, daemon, settlement::verify::VerifyError};

#[derive(Parser)]
#[command(
    name = "sable-node",
    version,
    about = "Sable permissioned validator node"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one node.
    Run {
        /// Configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Print the chain's genesis digest from a configuration (checking its CA and
    /// certificates), for operators to compare before a first start: validators whose
    /// digests differ agree on no block.
    Genesis {
        /// Configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Rebuild every settled batch from L1 data alone, re-verify every proof and root,
    /// and report the first mismatch (exit status 1; 2 when L1 cannot be read).
    #[command(name = "verify-l1")]
    VerifyL1 {
        /// The Ethereum JSON-RPC endpoint.
        #[arg(long)]
        rpc: String,
        /// The settlement contract.
        #[arg(long)]
        contract: String,
        /// A node configuration of the chain (its namespace, CA and regulator key).
        #[arg(long)]
        config: PathBuf,
        /// The L1 block the contracts were deployed in (logs are read from there on).
        #[arg(long, default_value_t = 0)]
        from_block: u64,
        /// The most L1 blocks one log query spans (the endpoint's `eth_getLogs` cap).
        #[arg(long, default_value_t = sable_l1::provider::DEFAULT_LOG_PAGE)]
        log_page: u64,
        /// A beacon node to read blobs from (public networks); without it, blobs are
        /// read with `anvil_getBlobsByTransactionHash` from the RPC endpoint.
        #[arg(long)]
        beacon: Option<String>,
        /// The beacon chain's seconds per slot (with `--beacon`).
        #[arg(long, default_value_t = 12)]
        seconds_per_slot: u64,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::VerifyL1 {
            rpc,
            contract,
            config,
            from_block,
            log_page,
            beacon,
            seconds_per_slot,
        } => {
            let cfg = NodeConfig::load(&config)?;
            let blobs = match beacon {
                Some(url) => sable_l1::BlobSource::Beacon {
                    url,
                    seconds_per_slot,
                },
                None => sable_l1::BlobSource::Anvil,
            };
            let l1 = daemon::L1Source {
                rpc,
                contract,
                from_block,
                log_page,
                blobs,
            };
            match daemon::verify_l1(&cfg, &l1, Arc::new(AllowAll)) {
                Ok(r) => {
                    println!(
                        "verified {} batches from L1 alone: blocks 1..={}, {} transactions, every proof and root checks out",
                        r.batches, r.last_block, r.transactions
                    );
                    Ok(())
                }
                Err(daemon::DaemonError::Verify(VerifyError::Mismatch { number, what })) => {
                    println!("MISMATCH at batch {number}: {what}");
                    std::process::exit(1);
                }
                Err(e) => {
                    eprintln!("verify-l1 could not finish: {e}");
                    std::process::exit(2);
                }
            }
        }
        Cmd::Genesis { config } => {
            let cfg = NodeConfig::load(&config)?;
            let ca = sable_pki::CertificateAuthority::load(&cfg.tls.ca)?;
            let params = daemon::chain_params(&cfg, &ca)?;
            println!("namespace:  {}", cfg.chain.namespace);
            println!("chain id:   {}", hex::encode(params.chain.0));
            println!("genesis:    {}", hex::encode(params.genesis_digest()));
            println!(
                "validators: {} (quorum {}), operators: {} of {}",
                params.validators.len(),
                params.quorum(),
                params.governance.threshold(),
                params.governance.operators().len()
            );
            Ok(())
        }
        Cmd::Run { config } => {
            let cfg = NodeConfig::load(&config)?;
            daemon::run(cfg, Arc::new(AllowAll))?;
            Ok(())
        }
    }
}
