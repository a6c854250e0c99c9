//! Settlement batches as validators build and sign them: the published-data fold, the
//! withdrawals hash, the EIP-712 digest bound to the chain and the contract, and a
//! quorum of signatures packed the way the contract reads them.

use alloy::{
    primitives::{keccak256, Address, Bytes, B256},
    signers::{local::PrivateKeySigner, SignerSync},
    sol_types::{eip712_domain, Eip712Domain, SolStruct, SolValue},
};

use crate::{
    bindings::{Batch, Rotation, Withdrawal},
    error::L1Error,
};

/// The EIP-712 domain of one settlement contract on one chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Domain {
    /// The L1 chain id.
    pub chain_id: u64,
    /// The settlement contract.
    pub contract: Address,
}

impl Domain {
    /// The contract's EIP-712 domain ("Sable Settlement", version 1).
    pub fn eip712(&self) -> Eip712Domain {
        eip712_domain! {
            name: "Sable Settlement",
            version: "1",
            chain_id: self.chain_id,
            verifying_contract: self.contract,
        }
    }

    /// The EIP-712 digest of `struct_hash` in this domain (the contract's
    /// `digest(structHash)`): what a quorum signs for any governance action.
    pub fn digest(&self, struct_hash: B256) -> B256 {
        let mut buf = [0u8; 66];
        buf[..2].copy_from_slice(b"\x19\x01");
        buf[2..34].copy_from_slice(self.eip712().separator().as_slice());
        buf[34..].copy_from_slice(struct_hash.as_slice());
        keccak256(buf)
    }

    /// What validators sign for `batch`.
    pub fn batch_digest(&self, batch: &Batch) -> B256 {
        batch.eip712_signing_hash(&self.eip712())
    }

    /// What validators sign to hand over to `validators` (ascending) as set `set_id`.
    pub fn rotation_digest(&self, set_id: u64, validators: &[Address]) -> B256 {
        Rotation {
            validatorSetId: set_id,
            validators: validators.to_vec(),
        }
        .eip712_signing_hash(&self.eip712())
    }
}

/// A batch's identity (its EIP-712 struct hash): the next batch's parent.
pub fn batch_hash(batch: &Batch) -> B256 {
    batch.eip712_hash_struct()
}

/// `keccak256(abi.encode(withdrawals))`, as the contract checks it.
pub fn withdrawals_hash(withdrawals: &[Withdrawal]) -> B256 {
    keccak256(withdrawals.to_vec().abi_encode())
}

/// The fold of a batch's published data (`SableSettlement.fold`): each calldata chunk
/// adds its keccak256, each blob its versioned hash, in publication order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataFold(pub B256);

impl DataFold {
    /// Folds in a calldata chunk (an empty chunk adds nothing).
    pub fn chunk(self, chunk: &[u8]) -> Self {
        if chunk.is_empty() {
            return self;
        }
        self.step(keccak256(chunk))
    }

    /// Folds in a blob by its versioned hash.
    pub fn blob(self, versioned_hash: B256) -> Self {
        self.step(versioned_hash)
    }

    fn step(self, h: B256) -> Self {
        let mut both = [0u8; 64];
        both[..32].copy_from_slice(self.0.as_slice());
        both[32..].copy_from_slice(h.as_slice());
        DataFold(keccak256(both))
    }

    /// The fold of `chunks` published as calldata, in order.
    pub fn of_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Self {
        chunks.into_iter().fold(Self::default(), |f, c| f.chunk(c))
    }
}

/// A validator's settlement key: the Ethereum key whose address is in the contract's
/// validator set.
#[derive(Clone, Debug)]
pub struct SettlementKey(PrivateKeySigner);

impl SettlementKey {
    /// A fresh key.
    pub fn random() -> Self {
        SettlementKey(PrivateKeySigner::random())
    }

    /// From a 32-byte hex secret (with or without `0x`).
    pub fn from_hex(hex: &str) -> Result<Self, L1Error> {
        hex.trim()
            .parse::<PrivateKeySigner>()
            .map(SettlementKey)
            .map_err(|e| L1Error::Key(e.to_string()))
    }

    /// The secret as `0x`-prefixed hex (for key files).
    pub fn to_hex(&self) -> String {
        format!("0x{}", alloy::hex::encode(self.0.to_bytes()))
    }

    /// The Ethereum address.
    pub fn address(&self) -> Address {
        self.0.address()
    }

    /// The signer, for sending transactions as this key.
    pub fn signer(&self) -> &PrivateKeySigner {
        &self.0
    }

    /// A 65-byte (r, s, v) signature over `digest`.
    pub fn sign(&self, digest: B256) -> Result<[u8; 65], L1Error> {
        let sig = self
            .0
            .sign_hash_sync(&digest)
            .map_err(|e| L1Error::Key(e.to_string()))?;
        Ok(sig.as_bytes())
    }
}

/// Signatures over one digest, collected from validators and packed for the contract.
#[derive(Clone, Debug)]
pub struct Quorum {
    digest: B256,
    signatures: Vec<(Address, [u8; 65])>,
}

impl Quorum {
    /// No signatures yet over `digest`.
    pub fn new(digest: B256) -> Self {
        Quorum {
            digest,
            signatures: Vec::new(),
        }
    }

    /// The signatures of `keys` over `digest` (a validator's own keys, or a test's).
    pub fn signed_by<'k>(
        digest: B256,
        keys: impl IntoIterator<Item = &'k SettlementKey>,
    ) -> Result<Self, L1Error> {
        let mut quorum = Quorum::new(digest);
        for k in keys {
            quorum.add(k.address(), &k.sign(digest)?)?;
        }
        Ok(quorum)
    }

    /// Adds a signature after checking it recovers to `signer` (a peer's signature is
    /// checked before it counts). A second signature by the same signer is ignored.
    pub fn add(&mut self, signer: Address, signature: &[u8]) -> Result<(), L1Error> {
        let sig = alloy::primitives::Signature::from_raw(signature)
            .map_err(|e| L1Error::BadSignature(e.to_string()))?;
        let recovered = sig
            .recover_address_from_prehash(&self.digest)
            .map_err(|e| L1Error::BadSignature(e.to_string()))?;
        if recovered != signer {
            return Err(L1Error::BadSignature(format!(
                "signed by {recovered}, not {signer}"
            )));
        }
        if self.signatures.iter().all(|(a, _)| *a != signer) {
            let mut raw = [0u8; 65];
            raw.copy_from_slice(signature);
            self.signatures.push((signer, raw));
        }
        Ok(())
    }

    /// Distinct signers so far.
    pub fn len(&self) -> usize {
        self.signatures.len()
    }

    /// No signature yet.
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }

    /// Packed 65-byte signatures, signers ascending (the contract's order).
    pub fn packed(&self) -> Bytes {
        let mut sorted = self.signatures.clone();
        sorted.sort_by_key(|(a, _)| *a);
        sorted
            .iter()
            .flat_map(|(_, s)| s.iter().copied())
            .collect::<Vec<u8>>()
            .into()
    }
}

/// 2f+1 of n = 3f+1 (n - f for any n), as the contract computes it.
pub fn quorum_size(validators: usize) -> usize {
    validators - validators.saturating_sub(1) / 3
}
