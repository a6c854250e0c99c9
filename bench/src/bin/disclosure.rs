//! The cost of a verifiable disclosure: making one package (the disclosure proof of one
//! note, `sable disclose`'s work after it has the note) and checking one
//! (`sable verify-disclosure`'s work after it has the chain's facts), against proving
//! one 2-action payment in the same run on the same cores.
//!
//! ```text
//! cargo run --release -p sable-bench --bin disclosure -- --reps 10
//! ```
//!
//! Disclosures and payments alternate, `--reps` times each; the table gives the median
//! and the spread (min–max) of each.

use std::time::Instant;

use anyhow::Result;
use rand::{rand_core::UnwrapErr, rngs::SysRng};
use sable_bench::{arg, print_median, Transfer};
use sable_circuits::{
    asset::AssetId,
    circuit::ProvingKey,
    disclosure::{DisclosureProvingKey, DisclosureVerifyingKey, Fields},
    keys::SpendingKey,
    note::{Note, NoteValue},
};
use sable_compliance::disclose::{Addressing, ChainFacts, DisclosurePackage, Verifier};
use sable_compliance::recipient::SeenRecord;
use sable_primitives::block::TxId;

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

fn main() -> Result<()> {
    let reps: usize = arg("--reps", 10).max(1);
    let mut rng = UnwrapErr(SysRng);

    let t = Instant::now();
    let pk = DisclosureProvingKey::build();
    let vk = DisclosureVerifyingKey::build();
    let disclosure_keys = ms(t);
    let t = Instant::now();
    let action_pk = ProvingKey::build();
    let action_keys = ms(t);
    let transfer = Transfer::new(&mut rng)?;

    let owner = SpendingKey::random(&mut rng).full_viewing_key().address();
    let note = Note::new(AssetId::from_name("USD"), NoteValue(1_000), owner, &mut rng);
    let facts = ChainFacts {
        chain: [7; 32],
        height: 10,
        commitments: Some(vec![note.commitment()]),
    };
    let dir = std::env::temp_dir().join(format!("sable-bench-disclosure-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut verifier = Verifier::new(&vk, "FCA", SeenRecord::open(&dir.join("seen"))?);

    let (mut prove, mut check, mut payment) = (Vec::new(), Vec::new(), Vec::new());
    let mut size = 0;
    for _ in 0..reps {
        let addressing = Addressing {
            chain: [7; 32],
            tx: TxId([1; 32]),
            output: 0,
            audience: "FCA".into(),
            nonce: rand::random(),
            expires_at: 100,
        };
        let fields = Fields {
            asset: true,
            value: true,
            owner: false,
        };
        let t = Instant::now();
        let package = DisclosurePackage::create(&pk, &note, fields, addressing, rand::rng())?;
        prove.push(ms(t));
        size = package.proof.as_bytes().len();
        let t = Instant::now();
        verifier.accept(&package, &facts)?;
        check.push(ms(t));

        let t = Instant::now();
        transfer.part(&mut rng)?.prove(&action_pk, &mut rng)?;
        payment.push(ms(t));
    }
    std::fs::remove_dir_all(&dir)?;

    println!("{reps} repetitions of each, alternating; median (min–max)");
    println!(
        "{:<38} {disclosure_keys:>10.1} ms",
        "disclosure keys (proving + verifying)"
    );
    println!(
        "{:<38} {action_keys:>10.1} ms",
        "action proving key (reference)"
    );
    let p = print_median("make a disclosure package", prove, 1);
    let v = print_median("check a package (proof, binding, once)", check, 1);
    let a = print_median("prove a 2-action payment (reference)", payment, 1);
    println!("{:<38} {size:>10} bytes", "disclosure proof size");
    println!("disclosure proof / payment proof time: {:.3}", p / a);
    println!("package check / disclosure proof time:  {:.3}", v / p);
    Ok(())
}
