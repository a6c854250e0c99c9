//! The regulator's scan rate against the devnet's throughput bound, in the same run.
//!
//! ```text
//! cargo run --release -p sable-bench --bin audit_scan -- --payments 2000 --reps 5 --proofs 64
//! ```
//!
//! The scan's work is exactly what `sable_compliance::audit::scan::scan_node` does with
//! the blocks and compact blocks a node streams (`read_block`: hash the ids, decode the
//! applied transactions across the cores; then `AuditLedger::apply_block`: open every
//! regulator ciphertext across the cores, one variable-base scalar multiplication and
//! the Poseidon stream cipher each, and record the block in order). The transactions
//! are a generated workload (`sable_testkit::synthetic`: five banks, three assets,
//! 2-action payments with their ciphertexts, signatures and a proof's length of bytes,
//! as wallets make them). The gRPC transfer is not counted (a node streams 256 blocks
//! a call).
//!
//! The reference is the devnet's bound, measured in the same run on the same cores:
//! `--proofs` real 2-action transactions (proven once, kept under
//! `$HOME/.cache/sable/bench/audit_scan`) verified in one batch, the faster of one
//! verifier on all cores and one per core at the same time (as `node_throughput`
//! measures it). Each of
//! the four validators verifies every transaction, so the devnet can finalize at most
//! this machine's verification rate divided by four (the node benchmark sustains
//! 0.79–0.89 of it; its bound, over batches of 1,200, is a few per cent above this
//! one's). The scan must run at least ten times that bound. Scans and verifications
//! alternate, `--reps` times each; the table gives every repetition and the median.
//!
//! With them alternates a bank's replay before a proof of holdings (`HoldingsScan`
//! over the same blocks with one bank's full viewing key: its notes found by trial
//! decryption, every commitment appended to the note tree, every nullifier inserted in
//! the nullifier tree), reported against the same bound: how much faster than the
//! chain grows a bank catches up to a height it proves holdings at.

use std::{path::PathBuf, sync::Arc, time::Instant};

use anyhow::{ensure, Context as _, Result};
use rand::{rand_core::UnwrapErr, rngs::SysRng};
use sable_bench::{arg, read_pool, verification::machine_rate, write_pool, Transfer};
use sable_circuits::keys::FullViewingKey;
use sable_circuits::{
    circuit::{ProvingKey, VerifyingKey},
    keys::RegulatorSecretKey,
    transaction::Transaction,
};
use sable_compliance::{
    audit::{scan::read_block, AuditLedger, SingleKey},
    holdings::HoldingsScan,
};
use sable_primitives::block::TxId;
use sable_proto::v1;
use sable_testkit::synthetic::{SyntheticChain, Workload};

/// Validators in the devnet, each verifying every transaction.
const VALIDATORS: f64 = 4.0;

/// One scan of `blocks` (as a node streams them) into a fresh ledger; the
/// transactions per second.
fn scan(blocks: &[(v1::Block, v1::CompactBlock)], key: &SingleKey) -> Result<f64> {
    let start = Instant::now();
    let mut ledger = AuditLedger::new();
    let mut count = 0usize;
    for (block, compact) in blocks {
        let read = read_block(block, compact, u64::MAX)?;
        count += read.txs.len();
        ledger.apply_block(read.audit_block(), key)?;
    }
    let rate = count as f64 / start.elapsed().as_secs_f64();
    ensure!(
        ledger.notes().len() > count,
        "the scan recorded too few notes"
    );
    Ok(rate)
}

/// One replay of `blocks` with a bank's full viewing key, as `sable prove-holdings`
/// does before proving (`HoldingsScan`: the note tree, the nullifier set and the bank's
/// notes: trial decryption across the cores, the trees on one thread); the
/// transactions per second.
fn replay(blocks: &[(v1::Block, v1::CompactBlock)], fvk: &FullViewingKey) -> Result<f64> {
    let start = Instant::now();
    let mut scan = HoldingsScan::new(fvk.clone());
    let mut count = 0usize;
    for (block, compact) in blocks {
        let read = read_block(block, compact, u64::MAX)?;
        count += read.txs.len();
        scan.apply_block(&read)?;
    }
    ensure!(
        scan.height() as usize == blocks.len(),
        "the replay stopped early"
    );
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// `n` proven 2-action transactions (each names the regulator key it was proven for),
/// made once and kept under `$HOME/.cache/sable/bench/audit_scan`; a pool from before a
/// change of the transaction encoding is made again.
fn reference_pool(n: usize) -> Result<Vec<Transaction>> {
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    let dir = PathBuf::from(home).join(".cache/sable/bench/audit_scan");
    let pool_file = dir.join(format!("pool-{n}.bin"));
    if let Ok(pool) = read_pool(&pool_file) {
        if pool.len() == n {
            return Ok(pool);
        }
    }
    let t = Instant::now();
    let mut rng = UnwrapErr(SysRng);
    let transfer = Transfer::new(&mut rng)?;
    let pk = ProvingKey::build();
    let pool: Vec<Transaction> = (0..n)
        .map(|_| transfer.transaction(&pk, &mut rng))
        .collect::<Result<_>>()?;
    std::fs::create_dir_all(&dir)?;
    write_pool(&pool_file, &pool)?;
    println!(
        "reference: proved {n} 2-action transactions in {:.1} s (kept in {})",
        t.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(pool)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn listed(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.0}"))
        .collect::<Vec<_>>()
        .join(" / ")
}

fn main() -> Result<()> {
    let payments: usize = arg("--payments", 2_000);
    let reps: usize = arg("--reps", 5);
    let proofs: usize = arg("--proofs", 64);
    ensure!(
        payments > 0 && reps > 0 && proofs > 0,
        "--payments, --reps and --proofs must be positive"
    );

    let t = Instant::now();
    let chain = SyntheticChain::generate(Workload {
        payments,
        ..Workload::default()
    });
    // The blocks and compact blocks a node would stream.
    let blocks: Vec<(v1::Block, v1::CompactBlock)> = chain
        .blocks
        .iter()
        .map(|b| {
            let block = v1::Block {
                header: Some(v1::BlockHeader {
                    height: b.height,
                    timestamp_ms: b.timestamp_ms,
                    ..Default::default()
                }),
                transactions: b.txs.iter().map(|(_, tx)| tx.to_bytes()).collect(),
                ..Default::default()
            };
            let compact = v1::CompactBlock {
                height: b.height,
                txs: block
                    .transactions
                    .iter()
                    .map(|t| v1::CompactTx {
                        tx_id: Some(v1::TxId {
                            id: TxId::of(t).0.to_vec(),
                        }),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            (block, compact)
        })
        .collect();
    let bytes: usize = blocks
        .iter()
        .flat_map(|(b, _)| &b.transactions)
        .map(Vec::len)
        .sum();
    println!(
        "workload: {} transactions in {} blocks, {} banks, {} assets, {:.1} MiB ({:.1} s to generate)",
        chain.transactions(),
        blocks.len(),
        chain.banks.len(),
        chain.assets.len(),
        bytes as f64 / (1 << 20) as f64,
        t.elapsed().as_secs_f64()
    );
    let key = SingleKey::new(RegulatorSecretKey::from_bytes(&chain.regulator.to_bytes())?);

    let pool = reference_pool(proofs)?;
    let pool: Vec<Arc<Transaction>> = pool.into_iter().map(Arc::new).collect();
    let vk = VerifyingKey::build();

    let fvk = chain.banks[0].spending_key().full_viewing_key();
    let (mut scans, mut verifies, mut replays) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        verifies.push(machine_rate(&vk, &pool)?);
        scans.push(scan(&blocks, &key)?);
        replays.push(replay(&blocks, &fvk)?);
    }
    verifies.push(machine_rate(&vk, &pool)?);
    let (scan_rate, verify_rate) = (median(scans.clone()), median(verifies.clone()));
    let bound = verify_rate / VALIDATORS;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("\n| figure ({cores} cores) | median | each repetition |");
    println!("|---|---|---|");
    println!(
        "| regulator's scan, all cores (tx/s) | {scan_rate:.0} | {} |",
        listed(&scans)
    );
    println!(
        "| batch verification of {proofs} (the faster of all cores and one verifier per core) (tx/s) | {verify_rate:.1} | {} |",
        listed(&verifies)
    );
    println!("| devnet bound: verification / {VALIDATORS} validators (tx/s) | {bound:.1} | |");
    println!(
        "| **scan / devnet bound** (target ≥ 10) | **{:.1}** | {} |",
        scan_rate / bound,
        scans
            .iter()
            .map(|s| format!("{:.1}", s / bound))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    let replay_rate = median(replays.clone());
    println!(
        "| a bank's holdings replay (decryption on all cores, the trees on one) (tx/s) | {replay_rate:.0} | {} |",
        listed(&replays)
    );
    println!(
        "| **holdings replay / devnet bound** | **{:.1}** | |",
        replay_rate / bound
    );
    Ok(())
}
