//! Verifiable disclosures over a generated workload: a payment's recipient and its
//! sender each open the note with their full viewing key alone and disclose chosen
//! fields of it to a named third party, who accepts the package once; every alteration
//! (a field, the audience, the nonce, the expiry, the transaction or output), a package
//! for someone else, of another chain, expired, not final, at the wrong output or shown
//! twice is refused with its reason, and nothing refused is recorded.
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use ff::PrimeField;

use sable_circuits::{
    disclosure::{DisclosureProvingKey, DisclosureVerifyingKey, Fields},
    note::{Note, NoteValue},
    transaction::Transaction,
};
use sable_compliance::disclose::{
    open_output, Addressing, ChainFacts, DisclosureError, DisclosurePackage, Verifier,
};
use sable_compliance::recipient::{RecordError, SeenRecord};
use sable_primitives::block::TxId;
use sable_testkit::synthetic::{Payment, SyntheticChain, Workload};

const CHAIN: [u8; 32] = [7; 32];
const FCA: &str = "FCA supervision, case 2026-114";

struct World {
    chain: SyntheticChain,
    pk: DisclosureProvingKey,
    vk: DisclosureVerifyingKey,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| World {
        chain: SyntheticChain::generate(Workload {
            payments: 12,
            ..Workload::default()
        }),
        pk: DisclosureProvingKey::build(),
        vk: DisclosureVerifyingKey::build(),
    })
}

/// A payment between two banks, its transaction, and the output that pays the recipient.
fn payment(w: &World) -> (&Payment, &Transaction, u32, Note) {
    let p = w.chain.payments.iter().find(|p| p.to.is_some()).unwrap();
    let tx = w
        .chain
        .blocks
        .iter()
        .flat_map(|b| b.txs.iter())
        .find(|(id, _)| *id == p.tx)
        .map(|(_, tx)| tx)
        .unwrap();
    let to = &w.chain.banks[p.to.unwrap()];
    let fvk = to.spending_key().full_viewing_key();
    let (output, note) = (0..tx.commitments().len() as u32)
        .filter_map(|i| open_output(tx, i, &fvk).map(|n| (i, n)))
        .find(|(_, n)| n.value() == NoteValue(p.value) && n.owner() == to.address())
        .unwrap();
    (p, tx, output, note)
}

fn addressing(p: &Payment, output: u32, audience: &str) -> Addressing {
    Addressing {
        chain: CHAIN,
        tx: p.tx,
        output,
        audience: audience.into(),
        nonce: rand::random(),
        expires_at: p.height + 100,
    }
}

fn facts(p: &Payment, tx: &Transaction) -> ChainFacts {
    ChainFacts {
        chain: CHAIN,
        height: p.height + 10,
        commitments: Some(tx.commitments()),
    }
}

fn verifier<'a>(w: &'a World, name: &str, dir: &tempfile::TempDir) -> Verifier<'a> {
    let seen = SeenRecord::open(&dir.path().join(format!("{name}.seen"))).unwrap();
    Verifier::new(&w.vk, name, seen)
}

/// `note`'s `fields` disclosed as `addressing` names.
fn disclose(w: &World, note: &Note, fields: Fields, addressing: Addressing) -> DisclosurePackage {
    DisclosurePackage::create(&w.pk, note, fields, addressing, rand::rng()).unwrap()
}

fn value_and_asset() -> Fields {
    Fields {
        asset: true,
        value: true,
        owner: false,
    }
}

#[test]
fn the_recipient_and_the_sender_each_disclose_with_their_viewing_key_alone() {
    let w = world();
    let (p, tx, output, note) = payment(w);
    let sender = &w.chain.banks[p.from];
    // The sender opens the same note with its outgoing viewing key.
    let sent = open_output(tx, output, &sender.spending_key().full_viewing_key()).unwrap();
    assert_eq!(sent, note);
    // A third bank opens nothing of it.
    let other = w
        .chain
        .banks
        .iter()
        .enumerate()
        .find(|(i, _)| *i != p.from && Some(*i) != p.to)
        .unwrap()
        .1;
    assert_eq!(
        open_output(tx, output, &other.spending_key().full_viewing_key()),
        None
    );
    assert_eq!(
        open_output(tx, u32::MAX, &sender.spending_key().full_viewing_key()),
        None
    );

    let dir = tempfile::tempdir().unwrap();
    let mut fca = verifier(w, FCA, &dir);
    let facts = facts(p, tx);
    for (opened, fields) in [(note, value_and_asset()), (sent, Fields::ALL)] {
        let package = disclose(w, &opened, fields, addressing(p, output, FCA));
        // Through its file format.
        let package = DisclosurePackage::from_json(&package.to_json()).unwrap();
        fca.accept(&package, &facts).unwrap();
        let s = package.statement;
        assert_eq!(s.value, Some(NoteValue(p.value)));
        assert_eq!(s.asset, Some(w.chain.assets[p.asset]));
        assert_eq!(s.owner, fields.owner.then(|| note.owner()));
        assert!(!package.to_json().contains(&hex(&note.rcm().to_repr())));
    }
    assert_eq!(fca.seen().len(), 2);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Edits the package's JSON form: `field` set to `value`.
fn edited(package: &DisclosurePackage, field: &str, value: serde_json::Value) -> DisclosurePackage {
    let mut json: serde_json::Value = serde_json::from_str(&package.to_json()).unwrap();
    json[field] = value;
    DisclosurePackage::from_json(&json.to_string()).unwrap()
}

#[test]
fn an_altered_package_is_refused_as_forged_and_nothing_is_recorded() {
    let w = world();
    let (p, tx, output, note) = payment(w);
    let dir = tempfile::tempdir().unwrap();
    let mut fca = verifier(w, FCA, &dir);
    let facts = facts(p, tx);
    let package = disclose(w, &note, value_and_asset(), addressing(p, output, FCA));
    let other_cm = tx.commitments()[(output as usize + 1) % tx.commitments().len()];
    let owner = hex(&note.owner().to_bytes());
    for (field, value) in [
        ("value", serde_json::json!(p.value + 1)),
        ("value", serde_json::Value::Null),
        (
            "asset",
            serde_json::json!(hex(&w.chain.assets[(p.asset + 1) % w.chain.assets.len()].0)),
        ),
        ("owner", serde_json::json!(owner)),
        ("nonce", serde_json::json!(hex(&[1; 32]))),
        ("expires_at", serde_json::json!(p.height + 1_000)),
        ("output", serde_json::json!(output + 1)),
        ("tx", serde_json::json!(hex(&[2; 32]))),
        ("cm", serde_json::json!(hex(&other_cm.to_bytes()))),
    ] {
        let altered = edited(&package, field, value);
        assert_eq!(
            fca.accept(&altered, &facts),
            Err(DisclosureError::Forged),
            "altered {field}"
        );
    }
    // Re-addressed to another party: the new audience's verifier finds it forged, and
    // the original shown to it is not for it.
    let mut sec = verifier(w, "SEC", &dir);
    let readdressed = edited(&package, "audience", serde_json::json!("SEC"));
    assert_eq!(
        sec.accept(&readdressed, &facts),
        Err(DisclosureError::Forged)
    );
    assert!(matches!(
        sec.accept(&package, &facts),
        Err(DisclosureError::NotForYou { to, .. }) if to == FCA
    ));
    // A proof of another package under this one's fields.
    let other = disclose(w, &note, Fields::ALL, addressing(p, output, FCA));
    let mut swapped = package.clone();
    swapped.proof = other.proof;
    assert_eq!(fca.accept(&swapped, &facts), Err(DisclosureError::Forged));
    assert!(fca.seen().is_empty() && sec.seen().is_empty());
    // The genuine package is still accepted.
    fca.accept(&package, &facts).unwrap();
}

#[test]
fn a_package_is_refused_off_chain_expired_or_shown_twice() {
    let w = world();
    let (p, tx, output, note) = payment(w);
    let dir = tempfile::tempdir().unwrap();
    let mut fca = verifier(w, FCA, &dir);
    let facts = facts(p, tx);
    let make = |a: Addressing| disclose(w, &note, value_and_asset(), a);
    let package = make(addressing(p, output, FCA));

    let mut other_chain = facts.clone();
    other_chain.chain = [8; 32];
    assert!(matches!(
        fca.accept(&package, &other_chain),
        Err(DisclosureError::OtherChain { .. })
    ));
    let mut later = facts.clone();
    later.height = package.addressing.expires_at + 1;
    assert_eq!(
        fca.accept(&package, &later),
        Err(DisclosureError::Expired {
            expires_at: package.addressing.expires_at,
            height: later.height
        })
    );
    let mut not_final = facts.clone();
    not_final.commitments = None;
    assert!(matches!(
        fca.accept(&package, &not_final),
        Err(DisclosureError::NotOnChain { .. })
    ));
    // A genuine proof of the note, claimed at another output of the transaction or in
    // another transaction.
    let mut a = addressing(p, output, FCA);
    a.output = (output + 1) % tx.commitments().len() as u32;
    assert!(matches!(
        fca.accept(&make(a), &facts),
        Err(DisclosureError::Mismatch { .. })
    ));
    let mut a = addressing(p, output, FCA);
    a.output = 1_000;
    assert!(matches!(
        fca.accept(&make(a), &facts),
        Err(DisclosureError::Mismatch { output: 1_000, .. })
    ));
    let mut a = addressing(p, output, FCA);
    a.tx = TxId([3; 32]);
    assert!(matches!(
        fca.accept(&make(a), &not_final),
        Err(DisclosureError::NotOnChain { .. })
    ));
    assert!(fca.seen().is_empty(), "nothing refused is recorded");

    // Accepted once; shown again, to this verifier or after its restart, it is a replay.
    fca.accept(&package, &facts).unwrap();
    let replayed = Err(DisclosureError::Replayed {
        nonce: hex(&package.addressing.nonce),
    });
    assert_eq!(fca.accept(&package, &facts), replayed);
    drop(fca);
    let mut restarted = verifier(w, FCA, &dir);
    assert_eq!(restarted.seen().len(), 1);
    assert_eq!(restarted.accept(&package, &facts), replayed);
}

#[test]
fn malformed_packages_and_records_are_refused_by_name() {
    let w = world();
    let (p, _, output, note) = payment(w);
    let package = disclose(w, &note, value_and_asset(), addressing(p, output, FCA));
    let json: serde_json::Value = serde_json::from_str(&package.to_json()).unwrap();
    let with = |field: &str, value: serde_json::Value| {
        let mut j = json.clone();
        j[field] = value;
        DisclosurePackage::from_json(&j.to_string())
    };
    let malformed = |r: Result<DisclosurePackage, DisclosureError>, what: &str| match r {
        Err(DisclosureError::Malformed(m)) => assert!(m.contains(what), "{m} (expected {what})"),
        other => panic!("{what}: {other:?}"),
    };
    malformed(DisclosurePackage::from_json("{"), "not a package");
    malformed(DisclosurePackage::from_json(""), "not a package");
    malformed(with("version", serde_json::json!(2)), "version 2");
    malformed(with("cm", serde_json::json!("zz")), "cm: not hex");
    malformed(with("tx", serde_json::json!("00")), "tx: 1 bytes, not 32");
    malformed(with("owner", serde_json::json!(hex(&[0xff; 32]))), "owner");
    malformed(with("cm", serde_json::json!(hex(&[0xff; 32]))), "cm");
    malformed(with("audience", serde_json::json!("")), "audience");
    malformed(
        with("audience", serde_json::json!("x".repeat(129))),
        "audience",
    );
    malformed(
        with("proof", serde_json::json!("00".repeat(20_000))),
        "proof over",
    );
    let proof = json["proof"].as_str().unwrap();
    malformed(
        with("proof", serde_json::json!(format!("{proof}00"))),
        "a proof of 2273 bytes",
    );
    malformed(
        with("proof", serde_json::json!(proof[..proof.len() - 2])),
        "a proof of 2271 bytes",
    );
    malformed(with("owner", serde_json::json!(hex(&[0; 32]))), "owner");
    malformed(with("extra", serde_json::json!(1)), "unknown field");
    malformed(with("value", serde_json::json!(-1)), "not a package");
    // An empty audience cannot be disclosed to either.
    let mut a = addressing(p, output, FCA);
    a.audience = String::new();
    assert!(matches!(
        DisclosurePackage::create(&w.pk, &note, Fields::ALL, a, rand::rng()),
        Err(DisclosureError::Malformed(_))
    ));
    // A record of accepted packages that is not one.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seen");
    std::fs::write(&path, "not a nonce\n").unwrap();
    assert!(matches!(
        SeenRecord::open(&path),
        Err(RecordError { what, .. }) if what.contains("line 1")
    ));
    assert!(matches!(
        SeenRecord::open(dir.path()),
        Err(RecordError { .. })
    ));
}
