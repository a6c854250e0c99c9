//! Batch signatures between validators, over the consensus p2p transport (its own
//! channel, authenticated and encrypted like consensus).
//!
//! Each validator signs the digest of the batch it built itself and announces the
//! signature until the batch settles. A signature counts only for the digest it was made
//! over and only when it recovers to an address of the contract's validator set, so a
//! validator whose batch differs (a diverged state, another configuration) can never
//! lend its signature to someone else's digest; it shows up as a disagreement instead.
//!
//! # Messages
//! ```text
//! message = version:u8(=1) || number:u64 || digest:32 || signature:65
//! ```

use std::collections::{BTreeMap, HashMap};

use alloy::primitives::{Address, Signature, B256};
use commonware_p2p::{Receiver, Recipients, Sender};
use parking_lot::Mutex;

/// The p2p channel of batch signatures (consensus uses 0–4, gossip 5).
pub const CHANNEL: u64 = 6;
/// Signature message version.
pub const VERSION: u8 = 1;
/// Encoded length of a signature message.
pub const MESSAGE_LEN: usize = 1 + 8 + 32 + 65;
/// Batches past the last settled one for which signatures are kept.
pub const WINDOW: u64 = 16;
/// Distinct digests kept per batch number (honest validators sign one).
const DIGESTS_PER_BATCH: usize = 8;

/// One validator's signature over one batch digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSignature {
    /// The batch number.
    pub number: u64,
    /// The digest signed.
    pub digest: B256,
    /// 65-byte (r, s, v).
    pub signature: [u8; 65],
}

impl BatchSignature {
    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MESSAGE_LEN);
        out.push(VERSION);
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(self.digest.as_slice());
        out.extend_from_slice(&self.signature);
        out
    }

    /// Decodes the wire encoding (`None` for anything malformed).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != MESSAGE_LEN || bytes[0] != VERSION {
            return None;
        }
        let number = u64::from_be_bytes(bytes[1..9].try_into().ok()?);
        let digest = B256::from_slice(&bytes[9..41]);
        let signature: [u8; 65] = bytes[41..].try_into().ok()?;
        Some(BatchSignature {
            number,
            digest,
            signature,
        })
    }

    /// The address the signature recovers to.
    pub fn signer(&self) -> Option<Address> {
        Signature::from_raw(&self.signature)
            .ok()?
            .recover_address_from_prehash(&self.digest)
            .ok()
    }
}

/// Why a signature was not kept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not a well-formed message.
    #[error("malformed signature message")]
    Malformed,
    /// It does not recover to a current validator's settlement address.
    #[error("not signed by a validator of the current set")]
    NotValidator,
    /// For a batch already settled or too far ahead.
    #[error("batch {0} is outside the signing window")]
    OutOfWindow(u64),
    /// Too many different digests for one batch.
    #[error("too many digests for batch {0}")]
    TooManyDigests(u64),
}

#[derive(Debug, Default)]
struct Book {
    validators: Vec<Address>,
    settled: u64,
    by_batch: BTreeMap<u64, HashMap<B256, BTreeMap<Address, [u8; 65]>>>,
}

/// The signatures collected for the batches not yet settled.
#[derive(Debug, Default)]
pub struct SignatureBook(Mutex<Book>, tokio::sync::Notify);

impl SignatureBook {
    /// Sets the contract's state this book checks against: its validator set and last
    /// settled batch (signatures for settled batches are dropped).
    pub fn update(&self, validators: &[Address], settled: u64) {
        let mut b = self.0.lock();
        if b.validators != validators {
            b.validators = validators.to_vec();
            b.by_batch.clear();
        }
        b.settled = settled;
        b.by_batch = b.by_batch.split_off(&(settled + 1));
    }

    /// Keeps `sig` if it recovers to a validator of the current set, for a batch in the
    /// window; returns its signer.
    pub fn add(&self, sig: &BatchSignature) -> Result<Address, Refused> {
        let signer = sig.signer().ok_or(Refused::Malformed)?;
        let mut b = self.0.lock();
        if !b.validators.contains(&signer) {
            return Err(Refused::NotValidator);
        }
        if sig.number <= b.settled || sig.number > b.settled + WINDOW {
            return Err(Refused::OutOfWindow(sig.number));
        }
        let digests = b.by_batch.entry(sig.number).or_default();
        if !digests.contains_key(&sig.digest) && digests.len() >= DIGESTS_PER_BATCH {
            return Err(Refused::TooManyDigests(sig.number));
        }
        let new = digests
            .entry(sig.digest)
            .or_default()
            .insert(signer, sig.signature)
            .is_none();
        drop(b);
        if new {
            self.1.notify_one();
        }
        Ok(signer)
    }

    /// Resolves after a signature not seen before was kept.
    pub async fn added(&self) {
        self.1.notified().await
    }

    /// The signatures over `digest` for batch `number`, by signer.
    pub fn signatures(&self, number: u64, digest: &B256) -> Vec<(Address, [u8; 65])> {
        let b = self.0.lock();
        b.by_batch
            .get(&number)
            .and_then(|d| d.get(digest))
            .map(|s| s.iter().map(|(a, s)| (*a, *s)).collect())
            .unwrap_or_default()
    }

    /// Validators that signed a different digest for batch `number`.
    pub fn dissenters(&self, number: u64, digest: &B256) -> Vec<Address> {
        let b = self.0.lock();
        b.by_batch
            .get(&number)
            .map(|d| {
                d.iter()
                    .filter(|(k, _)| *k != digest)
                    .flat_map(|(_, s)| s.keys().copied())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Announces signatures to every other validator (best effort: a lost one is
/// announced again on the next round).
pub struct Announcer<S: Sender>(pub S);

impl<S: Sender> Announcer<S> {
    /// Sends `sig` to all peers.
    pub fn announce(&mut self, sig: &BatchSignature) {
        let _ = self.0.send(Recipients::All, sig.to_bytes(), false);
    }
}

/// Keeps what peers announce in `book` until the channel closes.
pub async fn receive_loop<R: Receiver>(book: std::sync::Arc<SignatureBook>, mut receiver: R) {
    loop {
        let (_peer, message) = match receiver.recv().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%e, "settlement signature channel closed");
                return;
            }
        };
        let result = BatchSignature::from_bytes(message.as_ref())
            .ok_or(Refused::Malformed)
            .and_then(|sig| book.add(&sig));
        if let Err(e) = result {
            tracing::debug!(%e, "batch signature from a peer not kept");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sable_l1::SettlementKey;

    fn signed(key: &SettlementKey, number: u64, digest: B256) -> BatchSignature {
        BatchSignature {
            number,
            digest,
            signature: key.sign(digest).unwrap(),
        }
    }

    #[test]
    fn messages_round_trip_and_malformed_ones_are_refused() {
        let k = SettlementKey::random();
        let s = signed(&k, 7, B256::repeat_byte(3));
        let bytes = s.to_bytes();
        assert_eq!(BatchSignature::from_bytes(&bytes), Some(s));
        assert_eq!(s.signer(), Some(k.address()));
        assert_eq!(BatchSignature::from_bytes(&bytes[..MESSAGE_LEN - 1]), None);
        let mut v2 = bytes.clone();
        v2[0] = 2;
        assert_eq!(BatchSignature::from_bytes(&v2), None);
        let mut bad = s;
        bad.signature[64] = 9;
        assert_eq!(bad.signer(), None);
    }

    #[test]
    fn the_book_keeps_only_current_validators_in_the_window_per_digest() {
        let keys: Vec<_> = (0..3).map(|_| SettlementKey::random()).collect();
        let outsider = SettlementKey::random();
        let book = SignatureBook::default();
        let set: Vec<Address> = keys.iter().map(SettlementKey::address).collect();
        book.update(&set, 4);
        let (d, other) = (B256::repeat_byte(1), B256::repeat_byte(2));
        assert_eq!(book.add(&signed(&keys[0], 5, d)), Ok(keys[0].address()));
        book.add(&signed(&keys[1], 5, d)).unwrap();
        book.add(&signed(&keys[1], 5, d)).unwrap();
        book.add(&signed(&keys[2], 5, other)).unwrap();
        assert_eq!(
            book.signatures(5, &d).len(),
            2,
            "one per signer, per digest"
        );
        assert_eq!(book.dissenters(5, &d), vec![keys[2].address()]);
        assert_eq!(
            book.add(&signed(&outsider, 5, d)),
            Err(Refused::NotValidator)
        );
        assert_eq!(
            book.add(&signed(&keys[0], 4, d)),
            Err(Refused::OutOfWindow(4))
        );
        assert_eq!(
            book.add(&signed(&keys[0], 5 + WINDOW, d)),
            Err(Refused::OutOfWindow(5 + WINDOW))
        );
        for i in 0..DIGESTS_PER_BATCH as u8 - 2 {
            book.add(&signed(&keys[0], 6, B256::repeat_byte(10 + i)))
                .unwrap();
        }
        book.add(&signed(&keys[0], 6, d)).unwrap();
        book.add(&signed(&keys[0], 6, other)).unwrap();
        assert_eq!(
            book.add(&signed(&keys[0], 6, B256::repeat_byte(99))),
            Err(Refused::TooManyDigests(6))
        );
        // Settling batch 5 drops its signatures; a new validator set drops everything.
        book.update(&set, 5);
        assert!(book.signatures(5, &d).is_empty());
        assert_eq!(book.signatures(6, &d).len(), 1);
        book.update(&set[..2], 5);
        assert!(book.signatures(6, &d).is_empty());
    }
}
