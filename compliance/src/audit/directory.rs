//! Names for what the regulator sees: participants by the registry's public record
//! (the operator commands in finalized blocks: who was added with which label, and
//! when removed), issuers by their authorisation, and assets by the issuances that
//! created them. Everything here is public chain data; the ledger's tags are joined to
//! it to print "Bank A" where the ciphertext says an x-coordinate.

use std::collections::BTreeMap;

use sable_circuits::{asset::AssetId, epoch::EpochSchedule, transaction::Issuance};
use sable_primitives::admin::{AdminCommand, AdminOp};

use super::ledger::{AssetTag, OwnerTag};

/// A participant of the registry, as its operator commands recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantEntry {
    /// The label the operators registered it under (e.g. the bank's name).
    pub label: String,
    /// The epoch key schedule it was registered with: what an epoch view key it hands
    /// out must match ([`sable_circuits::epoch::EpochViewKey::check`]).
    pub epoch_keys: EpochSchedule,
    /// The height of the block that added it.
    pub added_at: u64,
    /// The height of the block that removed it, if removed: from the next block on it
    /// can neither send nor receive.
    pub removed_at: Option<u64>,
}

/// An asset the chain created, as its first issuance named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetEntry {
    /// The name the issuance gave (or the bridge listing's, when named by the caller).
    pub name: String,
    /// The issuer's label, when the operators authorised it under one.
    pub issuer: Option<String>,
    /// The height of its first issuance (0 when named by the caller).
    pub first_seen: u64,
}

/// The regulator's directory of names (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Directory {
    participants: BTreeMap<OwnerTag, ParticipantEntry>,
    /// Issuer keys, their labels and whether still authorised.
    issuers: BTreeMap<[u8; 32], (String, bool)>,
    assets: BTreeMap<AssetTag, AssetEntry>,
}

impl Directory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the operator commands of the block at `height`. The validators applied
    /// them by the registry's rules, which this follows: an address already listed is
    /// not added again, and removing an unlisted one changes nothing (such commands
    /// were refused at execution).
    pub fn apply_admin(&mut self, height: u64, commands: &[AdminCommand]) {
        for cmd in commands {
            match &cmd.op {
                AdminOp::AddParticipant {
                    address,
                    epoch_keys,
                    label,
                } => {
                    let tag = OwnerTag::of(address);
                    let listed = self
                        .participants
                        .get(&tag)
                        .is_some_and(|p| p.removed_at.is_none());
                    if !listed {
                        self.participants.insert(
                            tag,
                            ParticipantEntry {
                                label: label.clone(),
                                epoch_keys: epoch_keys.clone(),
                                added_at: height,
                                removed_at: None,
                            },
                        );
                    }
                }
                AdminOp::RemoveParticipant { address } => {
                    if let Some(p) = self.participants.get_mut(&OwnerTag::of(address)) {
                        p.removed_at.get_or_insert(height);
                    }
                }
                AdminOp::AuthorizeIssuer { issuer_key, label } => {
                    self.issuers.insert(*issuer_key, (label.clone(), true));
                }
                AdminOp::RevokeIssuer { issuer_key } => {
                    if let Some(issuer) = self.issuers.get_mut(issuer_key) {
                        issuer.1 = false;
                    }
                }
                AdminOp::RevokeCertificate { .. }
                | AdminOp::ReinstateCertificate { .. }
                | AdminOp::CommitAuditLog { .. }
                | AdminOp::RotateRegulatorKey { .. } => {}
            }
        }
    }

    /// Names the asset of `issuance` (its first issuance names it).
    pub fn apply_issuance(&mut self, height: u64, issuance: &Issuance) {
        let issuer_key: [u8; 32] = issuance.issuer.into();
        let issuer = self
            .issuers
            .get(&issuer_key)
            .map(|(label, _)| label.clone());
        self.assets
            .entry(AssetTag::of(issuance.asset()))
            .or_insert_with(|| AssetEntry {
                name: issuance.name.clone(),
                issuer,
                first_seen: height,
            });
    }

    /// Names an asset the chain does not name itself (a bridged token, by its L1
    /// listing). A name the chain gave is kept.
    pub fn name_asset(&mut self, asset: AssetId, name: &str) {
        self.assets
            .entry(AssetTag::of(asset))
            .or_insert_with(|| AssetEntry {
                name: name.to_string(),
                issuer: None,
                first_seen: 0,
            });
    }

    /// The participant behind `owner`, if the registry listed it.
    pub fn participant(&self, owner: &OwnerTag) -> Option<&ParticipantEntry> {
        self.participants.get(owner)
    }

    /// Every participant the registry ever listed.
    pub fn participants(&self) -> impl Iterator<Item = (&OwnerTag, &ParticipantEntry)> {
        self.participants.iter()
    }

    /// The asset behind `asset`, if named.
    pub fn asset(&self, asset: &AssetTag) -> Option<&AssetEntry> {
        self.assets.get(asset)
    }

    /// A participant's label; `unknown sender` for [`OwnerTag::UNKNOWN`]; `unlisted
    /// <first 8 hex digits>` for an owner the registry never listed.
    pub fn participant_label(&self, owner: &OwnerTag) -> String {
        match self.participants.get(owner) {
            Some(p) => p.label.clone(),
            None if *owner == OwnerTag::UNKNOWN => "unknown sender".to_string(),
            None => format!("unlisted {}", short(&owner.0)),
        }
    }

    /// An asset's name, or `asset <first 8 hex digits>` when unnamed.
    pub fn asset_name(&self, asset: &AssetTag) -> String {
        match self.assets.get(asset) {
            Some(a) => a.name.clone(),
            None => format!("asset {}", short(&asset.0)),
        }
    }

    /// Whether the registry lists `owner` now (added and not removed since).
    pub fn is_listed(&self, owner: &OwnerTag) -> bool {
        self.participants
            .get(owner)
            .is_some_and(|p| p.removed_at.is_none())
    }

    /// Whether the issuer key `key` is authorised now.
    pub fn issuer_authorized(&self, key: &[u8; 32]) -> bool {
        self.issuers
            .get(key)
            .is_some_and(|(_, authorized)| *authorized)
    }

    /// Whether `owner` had been removed from the registry before block `height`.
    pub fn removed_before(&self, owner: &OwnerTag, height: u64) -> Option<u64> {
        self.participants
            .get(owner)
            .and_then(|p| p.removed_at)
            .filter(|at| *at < height)
    }
}

/// The first four bytes of a tag in hex.
pub(crate) fn short(bytes: &[u8; 32]) -> String {
    bytes[..4].iter().map(|b| format!("{b:02x}")).collect()
}
