//! A compliance officer's audit of its own bank with the bank's full viewing key
//! (`audit::view`), over the 400-payment workload: one report engine, two scopes. For
//! every bank, its own report equals the regulator's report on that bank (positions,
//! their history, supply, spends, burns, what it sent to whom), except that the
//! sender of what it received is unknown to it; and its key sees no one else's notes.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use sable_circuits::keys::RegulatorSecretKey;
use sable_compliance::{
    audit::{view::ViewScan, AuditBlock, AuditError, AuditLedger, OwnerTag, SingleKey},
    report::{Report, ReportConfig, Scope},
};
use sable_testkit::synthetic::{SyntheticChain, Workload};

fn blocks(chain: &SyntheticChain) -> impl Iterator<Item = AuditBlock<'_>> {
    chain.blocks.iter().map(|b| {
        let mut block = AuditBlock::new(b.height, b.txs.iter().map(|(id, tx)| (*id, tx)));
        block.timestamp_ms = b.timestamp_ms;
        block.admin = b.admin.clone();
        block
    })
}

#[test]
fn each_banks_own_report_equals_the_regulators_report_on_it() {
    let chain = SyntheticChain::generate(Workload::default());
    let key = SingleKey::new(RegulatorSecretKey::from_bytes(&chain.regulator.to_bytes()).unwrap());
    let mut regulator = AuditLedger::new();
    for block in blocks(&chain) {
        regulator.apply_block(block, &key).unwrap();
    }
    let tip = regulator.height();
    let config = ReportConfig {
        large_transaction: 100_000,
        period_blocks: 20,
        ..ReportConfig::default()
    };
    for bank in &chain.banks {
        let mut view = ViewScan::new(bank.spending_key().full_viewing_key());
        let me = view.owner();
        let mut mine = AuditLedger::new();
        for block in blocks(&chain) {
            view.apply_block(&mut mine, block).unwrap();
        }
        // The key sees its own notes only, and all of them.
        assert!(mine.notes().iter().all(|n| n.owner == me), "{}", bank.name);
        let theirs: Vec<_> = regulator.notes().iter().filter(|n| n.owner == me).collect();
        assert_eq!(
            mine.notes().iter().collect::<Vec<_>>(),
            theirs,
            "{}",
            bank.name
        );
        let spends: Vec<_> = regulator
            .spends()
            .iter()
            .filter(|s| s.value > 0 && regulator.note(&s.note).unwrap().owner == me)
            .collect();
        assert_eq!(mine.spends().iter().collect::<Vec<_>>(), spends);
        for h in [2, tip / 3, tip] {
            let at: BTreeMap<_, _> = regulator
                .positions_at(h)
                .into_iter()
                .filter(|((o, _), _)| *o == me)
                .collect();
            assert_eq!(mine.positions_at(h), at, "{} at {h}", bank.name);
        }

        let theirs = Report::build(&regulator, Scope::Participant(me), &config).unwrap();
        let own = Report::build(&mine, Scope::Participant(me), &config).unwrap();
        assert_eq!(own.scope, theirs.scope);
        assert_eq!(own.positions, theirs.positions);
        assert_eq!(own.series, theirs.series);
        assert_eq!(own.supply, theirs.supply);
        assert_eq!(own.totals.moved, theirs.totals.moved);
        // What it sent, to whom: the same. What it received: the same, from a sender
        // it cannot see.
        let name = &bank.name;
        let sent = |r: &Report| {
            r.flows
                .iter()
                .filter(|f| &f.from == name)
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(sent(&own), sent(&theirs));
        let received = |r: &Report| {
            let mut by: BTreeMap<(u64, String), u128> = BTreeMap::new();
            for f in r.flows.iter().filter(|f| &f.to == name) {
                *by.entry((f.from_height, f.asset.clone())).or_default() += f.value;
            }
            by
        };
        assert_eq!(received(&own), received(&theirs));
        assert!(own
            .flows
            .iter()
            .filter(|f| &f.to == name)
            .all(|f| f.from == "unknown sender"));
        assert_eq!(own.alerts.len(), theirs.alerts.len());
    }
}

#[test]
fn a_view_scan_refuses_blocks_out_of_order_and_changes_nothing() {
    let chain = SyntheticChain::generate(Workload {
        payments: 20,
        ..Workload::default()
    });
    let mut view = ViewScan::new(chain.banks[0].spending_key().full_viewing_key());
    let mut mine = AuditLedger::new();
    let mut all = blocks(&chain);
    view.apply_block(&mut mine, all.next().unwrap()).unwrap();
    let second = all.next().unwrap();
    let again = AuditBlock::new(1, second.transactions.clone());
    let before = (mine.notes().len(), mine.height());
    assert_eq!(
        view.apply_block(&mut mine, again),
        Err(AuditError::OutOfOrder {
            height: 1,
            applied: 1
        })
    );
    assert_eq!((mine.notes().len(), mine.height()), before);
    view.apply_block(&mut mine, second).unwrap();
    assert_eq!(mine.height(), 2);
    let stranger = OwnerTag::of(&chain.banks[1].address());
    assert!(mine.notes().iter().all(|n| n.owner != stranger));
}
