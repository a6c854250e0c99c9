//! Typed writes into a [`Staged`] overlay: every change execution and this validator's
//! L1 watcher make, by meaning. Nothing is written until [`crate::Store::commit`].

use sable_primitives::{
    block::{BlockHeader, TxId},
    RegulatorRotation, WithdrawalRecord,
};

use crate::{
    records::{
        AuditLogHead, L1AssetRecord, L1DepositRecord, RegistryEntry, Revocation, TxLocation,
    },
    schema::{height_key, meta, Cf},
    Staged,
};

impl Staged<'_> {
    /// Records a block, its header and its hash, and makes it the tip.
    pub fn put_block(&mut self, encoded: Vec<u8>, header: &BlockHeader) {
        let hk = height_key(header.height).to_vec();
        self.put(Cf::Blocks, hk.clone(), encoded);
        self.put(Cf::Headers, hk.clone(), header.to_bytes());
        self.put(Cf::BlockHashes, header.hash.0.to_vec(), hk);
        self.put(Cf::Meta, meta::TIP.to_vec(), header.to_bytes());
    }

    /// Records where a transaction or operator command ended up.
    pub fn put_tx_location(&mut self, id: &TxId, location: &TxLocation) {
        self.put(Cf::TxIndex, id.0.to_vec(), location.to_bytes());
    }

    /// Marks a nullifier spent at `height`.
    pub fn spend_nullifier(&mut self, nullifier: &[u8; 32], height: u64) {
        self.put(
            Cf::Nullifiers,
            nullifier.to_vec(),
            height_key(height).to_vec(),
        );
    }

    /// Records that `anchor` became the note tree's root at `height`.
    pub fn put_anchor(&mut self, anchor: &[u8; 32], height: u64) {
        self.put(Cf::Anchors, anchor.to_vec(), height_key(height).to_vec());
    }

    /// Marks L1 deposit `index` minted at `height`.
    pub fn mint_deposit(&mut self, index: u64, height: u64) {
        self.put(
            Cf::Deposits,
            index.to_be_bytes().to_vec(),
            height_key(height).to_vec(),
        );
    }

    /// Records that `prefix` deposits are minted without a gap, now and as of `height`.
    pub fn put_deposits_prefix(&mut self, height: u64, prefix: u64) {
        let value = prefix.to_le_bytes().to_vec();
        self.put(Cf::Meta, meta::DEPOSITS_PREFIX.to_vec(), value.clone());
        self.put(Cf::Meta, meta::deposits_prefix_at(height).to_vec(), value);
    }

    /// Records the withdrawals the block at `height` executed (nothing if none).
    pub fn put_withdrawals(&mut self, height: u64, records: &[WithdrawalRecord]) {
        if !records.is_empty() {
            self.put(
                Cf::Withdrawals,
                height_key(height).to_vec(),
                WithdrawalRecord::encode_all(records),
            );
        }
    }

    /// Records the last height at which registry `root` was current (`u64::MAX`: it is).
    pub fn put_registry_root(&mut self, root: &[u8; 32], last_current: u64) {
        self.put(
            Cf::RegistryRoots,
            root.to_vec(),
            last_current.to_le_bytes().to_vec(),
        );
    }

    /// Records the compact block (protobuf) executed at `height`.
    pub fn put_compact_block(&mut self, height: u64, encoded: Vec<u8>) {
        self.put(Cf::Compact, height_key(height).to_vec(), encoded);
    }

    /// Registers `address` (its 32-byte encoding).
    pub fn put_participant(&mut self, address: &[u8; 32], entry: &RegistryEntry) {
        self.put(Cf::Registry, address.to_vec(), entry.to_bytes());
    }

    /// Removes `address` from the registry, recording `height` as the last removal.
    pub fn remove_participant(&mut self, address: &[u8; 32], height: u64) {
        self.delete(Cf::Registry, address.to_vec());
        self.put(
            Cf::Meta,
            meta::LAST_REMOVAL.to_vec(),
            height.to_le_bytes().to_vec(),
        );
    }

    /// Replaces the list of free registry slots.
    pub fn put_registry_free_slots(&mut self, slots: &[u64]) {
        let v: Vec<u8> = slots.iter().flat_map(|s| s.to_le_bytes()).collect();
        self.put(Cf::Meta, meta::REGISTRY_FREE.to_vec(), v);
    }

    /// Sets the next never-used registry slot.
    pub fn put_registry_next_slot(&mut self, next: u64) {
        self.put(
            Cf::Meta,
            meta::REGISTRY_NEXT.to_vec(),
            next.to_le_bytes().to_vec(),
        );
    }

    /// Authorises an issuer.
    pub fn put_issuer(&mut self, issuer_key: &[u8; 32], label: &str) {
        self.put(Cf::Issuers, issuer_key.to_vec(), label.as_bytes().to_vec());
    }

    /// Withdraws an issuer's authorisation.
    pub fn remove_issuer(&mut self, issuer_key: &[u8; 32]) {
        self.delete(Cf::Issuers, issuer_key.to_vec());
    }

    /// Records a committed head of the regulator decryption audit log `log`.
    pub fn put_audit_log_head(&mut self, log: &[u8; 32], head: &AuditLogHead) {
        let mut key = log.to_vec();
        key.extend_from_slice(&head.entries.to_be_bytes());
        self.put(Cf::AuditLogs, key, head.value_bytes());
    }

    /// Schedules a regulator key rotation.
    pub fn put_regulator_rotation(&mut self, rotation: &RegulatorRotation) {
        self.put(
            Cf::RegulatorKeys,
            rotation.from_height.to_be_bytes().to_vec(),
            crate::records::rotation_value(rotation),
        );
    }

    /// Revokes a certificate.
    pub fn put_revocation(&mut self, fingerprint: &[u8; 32], revocation: &Revocation) {
        self.put(Cf::Revocations, fingerprint.to_vec(), revocation.to_bytes());
    }

    /// Takes a certificate off the revocation list.
    pub fn remove_revocation(&mut self, fingerprint: &[u8; 32]) {
        self.delete(Cf::Revocations, fingerprint.to_vec());
    }

    /// Records a confirmed L1 deposit this validator's watcher saw.
    pub fn put_l1_deposit(&mut self, index: u64, record: &L1DepositRecord) {
        self.put(
            Cf::L1Deposits,
            index.to_be_bytes().to_vec(),
            record.to_bytes(),
        );
    }

    /// Forgets the L1 deposit `index` this validator's watcher saw: a reorg took it
    /// out of L1's final blocks.
    pub fn remove_l1_deposit(&mut self, index: u64) {
        self.delete(Cf::L1Deposits, index.to_be_bytes().to_vec());
    }

    /// Records a confirmed L1 asset listing this validator's watcher saw.
    pub fn put_l1_asset(&mut self, asset: &[u8; 32], record: &L1AssetRecord) {
        self.put(Cf::L1Assets, asset.to_vec(), record.to_bytes());
    }
}
