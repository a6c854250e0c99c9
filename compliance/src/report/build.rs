//! Gathering a report's figures from the ledger.

use std::collections::{BTreeMap, BTreeSet};

use crate::audit::{AssetTag, AuditLedger, Directory, Origin, OwnerTag};
use crate::hex;

use super::{
    Alert, AlertKind, AssetSupply, Flow, Movement, Position, PositionSeries, Report, ReportConfig,
    ReportError, Scope, Totals,
};

impl Scope {
    fn covers(&self, owner: &OwnerTag) -> bool {
        match self {
            Scope::Network => true,
            Scope::Participant(p) => p == owner,
        }
    }
}

impl Report {
    /// The report of `ledger` over `scope`.
    pub fn build(
        ledger: &AuditLedger,
        scope: Scope,
        config: &ReportConfig,
    ) -> Result<Report, ReportError> {
        if config.period_blocks == 0 {
            return Err(ReportError::EmptyPeriod);
        }
        let dir = ledger.directory();
        let scope_name = match scope {
            Scope::Network => "network".to_string(),
            Scope::Participant(p) => {
                let known =
                    dir.participant(&p).is_some() || ledger.notes().iter().any(|n| n.owner == p);
                if !known {
                    return Err(ReportError::UnknownParticipant(hex(&p.0)));
                }
                format!("participant {}", dir.participant_label(&p))
            }
        };
        let name = |o: &OwnerTag| dir.participant_label(o);
        let asset = |a: &AssetTag| dir.asset_name(a);
        let time_of: BTreeMap<u64, u64> = ledger.block_times().iter().copied().collect();
        let times = ledger.block_times();
        let time_range_ms = (
            times.first().map_or(0, |t| t.1),
            times.last().map_or(0, |t| t.1),
        );

        let positions_now = ledger.positions_at(ledger.height());
        let positions = positions_now
            .iter()
            .filter(|((o, _), _)| scope.covers(o))
            .map(|((o, a), v)| Position {
                participant: name(o),
                asset: asset(a),
                value: *v,
            })
            .collect();

        let movements = movements(ledger, scope, &time_of);
        let mut largest = movements.clone();
        largest.sort_by(|a, b| b.value.cmp(&a.value).then(a.height.cmp(&b.height)));
        largest.truncate(config.largest);

        Ok(Report {
            scope: scope_name,
            height: ledger.height(),
            time_range_ms,
            supply: supply(ledger, dir, scope),
            positions,
            series: series(ledger, scope, config.series_points),
            flows: flows(ledger, scope, config.period_blocks),
            largest,
            alerts: alerts(ledger, scope, config, &movements),
            totals: totals(ledger, scope),
        })
    }
}

/// Supply per asset in scope: for the network, what entered, left and is held on the
/// whole chain; for a participant, what was issued or minted to it, what it burnt and
/// what it holds.
fn supply(ledger: &AuditLedger, dir: &Directory, scope: Scope) -> Vec<AssetSupply> {
    let mut by: BTreeMap<AssetTag, [u128; 4]> = BTreeMap::new();
    for n in ledger.notes().iter().filter(|n| scope.covers(&n.owner)) {
        let row = by.entry(n.asset).or_default();
        match n.origin {
            Origin::Issuance => row[0] += u128::from(n.value),
            Origin::Deposit(_) => row[1] += u128::from(n.value),
            Origin::Action => {}
        }
        if n.spent.is_none() {
            row[3] += u128::from(n.value);
        }
    }
    for b in ledger.burns().iter().filter(|b| scope.covers(&b.by)) {
        by.entry(b.asset).or_default()[2] += u128::from(b.value);
    }
    by.into_iter()
        .map(|(tag, [issued, deposited, burnt, held])| AssetSupply {
            asset: dir.asset_name(&tag),
            tag: hex(&tag.0),
            issued,
            deposited,
            burnt,
            held,
        })
        .collect()
}

/// Per transaction and asset: value between distinct participants, and burns.
fn movements(ledger: &AuditLedger, scope: Scope, time_of: &BTreeMap<u64, u64>) -> Vec<Movement> {
    let dir = ledger.directory();
    let mut out: Vec<Movement> = Vec::new();
    // Summed per (tx, from, to, asset), in chain order.
    let mut index: BTreeMap<([u8; 32], OwnerTag, OwnerTag, AssetTag), usize> = BTreeMap::new();
    for t in ledger.transfers() {
        let k = t.key;
        if k.from == k.to || t.value == 0 || !(scope.covers(&k.from) || scope.covers(&k.to)) {
            continue;
        }
        let slot = *index
            .entry((t.tx.0, k.from, k.to, k.asset))
            .or_insert_with(|| {
                out.push(Movement {
                    tx: hex(&t.tx.0),
                    height: t.height,
                    time_ms: time_of.get(&t.height).copied().unwrap_or(0),
                    from: dir.participant_label(&k.from),
                    to: dir.participant_label(&k.to),
                    asset: dir.asset_name(&k.asset),
                    value: 0,
                });
                out.len() - 1
            });
        out[slot].value += u128::from(t.value);
    }
    for b in ledger.burns() {
        if !scope.covers(&b.by) {
            continue;
        }
        out.push(Movement {
            tx: hex(&b.tx.0),
            height: b.height,
            time_ms: time_of.get(&b.height).copied().unwrap_or(0),
            from: dir.participant_label(&b.by),
            to: b
                .recipient
                .map_or_else(|| "burn".to_string(), |r| format!("L1 0x{}", hex(&r))),
            asset: dir.asset_name(&b.asset),
            value: u128::from(b.value),
        });
    }
    out.sort_by_key(|m| m.height);
    out
}

/// Each holding's value at every height where it changed, sampled to `points`.
fn series(ledger: &AuditLedger, scope: Scope, points: usize) -> Vec<PositionSeries> {
    let dir = ledger.directory();
    let mut changes: BTreeSet<u64> = BTreeSet::new();
    for n in ledger.notes().iter().filter(|n| scope.covers(&n.owner)) {
        changes.insert(n.height);
        if let Some((_, at)) = n.spent {
            changes.insert(at);
        }
    }
    let heights: Vec<u64> = sample(changes.into_iter().collect(), points.max(2));
    let mut lines: BTreeMap<(OwnerTag, AssetTag), Vec<(u64, u128)>> = BTreeMap::new();
    for (i, h) in heights.iter().enumerate() {
        let at = ledger.positions_at(*h);
        for ((o, a), v) in &at {
            if scope.covers(o) {
                let line = lines.entry((*o, *a)).or_default();
                if line.is_empty() && i > 0 {
                    line.push((heights[i - 1], 0));
                }
                line.push((*h, *v));
            }
        }
        // A holding spent to nothing drops to 0.
        for ((o, a), line) in lines.iter_mut() {
            if !at.contains_key(&(*o, *a))
                && line.last().is_some_and(|(at_h, v)| at_h < h && *v != 0)
            {
                line.push((*h, 0));
            }
        }
    }
    lines
        .into_iter()
        .map(|((o, a), points)| PositionSeries {
            participant: dir.participant_label(&o),
            asset: dir.asset_name(&a),
            points,
        })
        .collect()
}

/// At most `n` of `xs`, evenly spaced, always keeping the first and the last.
fn sample(xs: Vec<u64>, n: usize) -> Vec<u64> {
    if xs.len() <= n {
        return xs;
    }
    let last = xs.len() - 1;
    (0..n).map(|i| xs[i * last / (n - 1)]).collect()
}

fn flows(ledger: &AuditLedger, scope: Scope, period: u64) -> Vec<Flow> {
    let dir = ledger.directory();
    let mut by: BTreeMap<(u64, OwnerTag, OwnerTag, AssetTag), u128> = BTreeMap::new();
    for t in ledger.transfers() {
        let k = t.key;
        if k.from != k.to && t.value > 0 && (scope.covers(&k.from) || scope.covers(&k.to)) {
            let start = (t.height - 1) / period * period + 1;
            *by.entry((start, k.from, k.to, k.asset)).or_default() += u128::from(t.value);
        }
    }
    by.into_iter()
        .map(|((start, from, to, a), value)| Flow {
            from_height: start,
            to_height: start.saturating_add(period - 1),
            from: dir.participant_label(&from),
            to: dir.participant_label(&to),
            asset: dir.asset_name(&a),
            value,
        })
        .collect()
}

fn alerts(
    ledger: &AuditLedger,
    scope: Scope,
    config: &ReportConfig,
    movements: &[Movement],
) -> Vec<Alert> {
    let dir = ledger.directory();
    let threshold = |asset: &str| {
        config
            .large_by_asset
            .iter()
            .find(|(name, _)| name == asset)
            .map_or(config.large_transaction, |(_, v)| *v)
    };
    let mut out: Vec<Alert> = movements
        .iter()
        .filter(|m| m.value >= u128::from(threshold(&m.asset)))
        .map(|m| Alert {
            kind: AlertKind::LargeTransaction,
            tx: m.tx.clone(),
            height: m.height,
            participant: m.from.clone(),
            asset: m.asset.clone(),
            value: m.value,
            detail: format!(
                "{} {} from {} to {}, at or above the threshold of {}",
                m.value,
                m.asset,
                m.from,
                m.to,
                threshold(&m.asset)
            ),
        })
        .collect();
    // Received after removal: a note created for a removed owner.
    for n in ledger.notes().iter().filter(|n| scope.covers(&n.owner)) {
        if let Some(removed) = dir.removed_before(&n.owner, n.height) {
            out.push(after_removal(
                dir, n.tx.0, n.height, &n.owner, &n.asset, n.value, removed, "received",
            ));
        }
    }
    // Sent after removal: a spend of a removed owner's note.
    for s in ledger.spends() {
        let Some(note) = ledger.note(&s.note) else {
            continue;
        };
        if !scope.covers(&note.owner) {
            continue;
        }
        if let Some(removed) = dir.removed_before(&note.owner, s.height) {
            out.push(after_removal(
                dir,
                s.tx.0,
                s.height,
                &note.owner,
                &note.asset,
                note.value,
                removed,
                "spent",
            ));
        }
    }
    out.sort_by_key(|a| a.height);
    out
}

#[allow(clippy::too_many_arguments)]
fn after_removal(
    dir: &Directory,
    tx: [u8; 32],
    height: u64,
    owner: &OwnerTag,
    asset: &AssetTag,
    value: u64,
    removed: u64,
    what: &str,
) -> Alert {
    let participant = dir.participant_label(owner);
    Alert {
        kind: AlertKind::ActivityAfterRemoval,
        tx: hex(&tx),
        height,
        asset: dir.asset_name(asset),
        value: u128::from(value),
        detail: format!(
            "{participant} {what} a note at block {height}, after its removal from the registry at block {removed}"
        ),
        participant,
    }
}

fn totals(ledger: &AuditLedger, scope: Scope) -> Totals {
    let dir = ledger.directory();
    let mut txs: BTreeSet<[u8; 32]> = BTreeSet::new();
    let mut notes = 0;
    for n in ledger.notes().iter().filter(|n| scope.covers(&n.owner)) {
        txs.insert(n.tx.0);
        notes += 1;
    }
    let mut spends = 0;
    for s in ledger.spends() {
        if ledger.note(&s.note).is_some_and(|n| scope.covers(&n.owner)) {
            txs.insert(s.tx.0);
            spends += 1;
        }
    }
    for b in ledger.burns().iter().filter(|b| scope.covers(&b.by)) {
        txs.insert(b.tx.0);
    }
    let mut moved: BTreeMap<AssetTag, u128> = BTreeMap::new();
    for t in ledger.transfers() {
        let k = t.key;
        if k.from != k.to && (scope.covers(&k.from) || scope.covers(&k.to)) {
            *moved.entry(k.asset).or_default() += u128::from(t.value);
        }
    }
    Totals {
        transactions: txs.len() as u64,
        notes,
        spends,
        moved: moved
            .into_iter()
            .map(|(a, v)| (dir.asset_name(&a), v))
            .collect(),
    }
}
