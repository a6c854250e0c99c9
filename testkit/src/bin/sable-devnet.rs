//! `sable-devnet`: a development network of `sable-node` validators on loopback.
//!
//! ```text
//! sable-devnet init --dir DIR [--validators 4] [--base-port 7100] [--force]   dev PKI + configs
//! sable-devnet up   --dir DIR [--validators 4] [--base-port 7100]            run until Ctrl-C
//! ```
//!
//! `up` writes the network first when `DIR` holds none, then starts one `sable-node run`
//! per validator (the `sable-node` beside this binary), each logging to `node.log` beside
//! its configuration, and stops them with SIGTERM on Ctrl-C or SIGTERM. A validator that
//! exits on its own is reported on stderr with the end of its log; when none is left,
//! `up` exits non-zero.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand};
use sable_testkit::{
    layout::{configs_in, init_devnet},
    Devnet,
};

#[derive(Parser)]
#[command(
    name = "sable-devnet",
    version,
    about = "A development network of Sable validators on loopback"
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
        /// Overwrite an existing network.
        #[arg(long)]
        force: bool,
    },
    /// Start the validators (writing the network first if DIR holds none) until Ctrl-C.
    Up {
        #[command(flatten)]
        net: NetworkArgs,
    },
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
        Cmd::Up {
            net:
                NetworkArgs {
                    dir,
                    validators,
                    base_port,
                },
        } => {
            if configs_in(&dir).is_empty() {
                init_devnet(&dir, validators, base_port)?;
            }
            let exe = std::env::current_exe()
                .context("locating sable-devnet")?
                .with_file_name("sable-node");
            if !exe.exists() {
                bail!(
                    "{} not found: build it with `cargo build --release -p sable-node`",
                    exe.display()
                );
            }
            let mut net = Devnet::open(exe, &dir)
                .with_context(|| format!("{} holds no devnet", dir.display()))?;
            for i in 0..net.configs.len() {
                net.start(i);
                println!(
                    "started {} (log: {})",
                    net.configs[i].display(),
                    net.configs[i].with_file_name("node.log").display()
                );
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            // Until Ctrl-C or SIGTERM, reporting each validator that exits on its own.
            rt.block_on(async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                let ctrl_c = tokio::signal::ctrl_c();
                tokio::pin!(ctrl_c);
                let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
                loop {
                    tokio::select! {
                        _ = &mut ctrl_c => break,
                        _ = term.recv() => break,
                        _ = tick.tick() => {
                            for (i, status) in net.exited() {
                                eprintln!(
                                    "validator {i} exited ({status}); the end of {}:\n{}",
                                    net.configs[i].with_file_name("node.log").display(),
                                    net.log_tail(i)
                                );
                            }
                            if net.children.iter().all(Option::is_none) {
                                bail!("every validator has exited");
                            }
                        }
                    }
                }
                anyhow::Ok(())
            })?;
            // SIGTERM each validator and wait; one that lingers is killed.
            net.stop_all();
            Ok(())
        }
    }
}
