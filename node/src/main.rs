//! `sable-node`: the Sable validator daemon and its development tooling.
//!
//! ```text
//! sable-node init   --dir DIR [--validators 4] [--base-port 7100]   dev PKI + configs
//! sable-node run    --config DIR/validator-0/config.toml             one node
//! sable-node devnet --dir DIR [--validators 4] [--base-port 7100]   N validators on loopback
//! sable-node verify-l1 --rpc URL --contract ADDR --config FILE     re-verify the chain from L1
//!                      [--from-block N] [--log-page N] [--beacon URL [--seconds-per-slot 12]]
//! ```

use std::{
    path::{Path, PathBuf},
    process::{Child, Command},
    sync::Arc,
    time::Duration,
};

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand};
use sable_execution::AllowAll;
use sable_node::{
    config::{init_devnet, NodeConfig},
    daemon,
    settlement::verify::VerifyError,
};

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

/// Where a development network lives and how it is laid out.
#[derive(clap::Args)]
struct NetworkArgs {
    /// Network directory.
    #[arg(long)]
    dir: PathBuf,
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// First port (RPC base; p2p base+100, metrics base+200).
    #[arg(long, default_value_t = 7100)]
    base_port: u16,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a development network: CA and certificates, regulator key, one config per validator.
    Init {
        #[command(flatten)]
        net: NetworkArgs,
        /// Overwrite an existing directory.
        #[arg(long)]
        force: bool,
    },
    /// Run one node.
    Run {
        /// Configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Start N validators on loopback (initialising DIR if needed) until Ctrl-C.
    Devnet {
        #[command(flatten)]
        net: NetworkArgs,
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

fn configs_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("config.toml"))
        .filter(|p| p.exists())
        .collect();
    v.sort();
    v
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Init {
            net:
                NetworkArgs {
                    dir,
                    validators,
                    base_port,
                },
            force,
        } => {
            if !configs_in(&dir).is_empty() && !force {
                bail!(
                    "{} already holds a network (use --force to replace it)",
                    dir.display()
                );
            }
            let layout = init_devnet(&dir, validators, base_port)?;
            println!("PKI:        {}", layout.pki.display());
            println!("regulator:  {}", layout.regulator_secret.display());
            for c in &layout.configs {
                println!("config:     {}", c.display());
            }
            Ok(())
        }
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
        Cmd::Run { config } => {
            let cfg = NodeConfig::load(&config)?;
            daemon::run(cfg, Arc::new(AllowAll))?;
            Ok(())
        }
        Cmd::Devnet {
            net:
                NetworkArgs {
                    dir,
                    validators,
                    base_port,
                },
        } => {
            let mut configs = configs_in(&dir);
            if configs.is_empty() {
                configs = init_devnet(&dir, validators, base_port)?.configs;
            }
            let exe = std::env::current_exe().context("locating sable-node")?;
            let mut children: Vec<Child> = Vec::new();
            for c in &configs {
                let log = std::fs::File::create(c.with_file_name("node.log"))?;
                children.push(
                    Command::new(&exe)
                        .args(["run", "--config"])
                        .arg(c)
                        .stdout(log.try_clone()?)
                        .stderr(log)
                        .spawn()
                        .with_context(|| format!("starting {}", c.display()))?,
                );
                println!(
                    "started {} (log: {})",
                    c.display(),
                    c.with_file_name("node.log").display()
                );
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
                anyhow::Ok(())
            })?;
            // Stop the validators cleanly (SIGTERM), then force any that linger.
            for c in &children {
                let _ = Command::new("kill").arg(c.id().to_string()).status();
            }
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            for c in &mut children {
                while std::time::Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = c.kill();
                let _ = c.wait();
            }
            Ok(())
        }
    }
}
