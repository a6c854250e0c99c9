//! Operator commands: changes to the participant registry, the authorised issuers and
//! the certificate revocation list.
//!
//! The chain is governed by M of N operators, both fixed at genesis
//! ([`Governance`]): a command takes effect only with the approvals of M distinct
//! operators among the N, each an operator certificate of the consortium, listed at
//! genesis, unrevoked, with its signature over the command. One stolen operator key
//! can therefore neither change the registry nor revoke anyone. Every validator checks
//! the approvals itself when the command is admitted and again when its block
//! executes; a validator cannot invent one. A command executes at most once (its id is
//! recorded).
//!
//! Operators gather approvals off chain: each signs the same command bytes
//! ([`AdminCommand::approve`]) and any of them submits the command with M approvals
//! ([`SignedAdminCommand::new`]).
//!
//! # Format
//! ```text
//! command = version:u8(=1) || nonce:u64 || op
//! op      = 0 || address:32 || epoch_keys:2048 || label (add participant)
//!         | 1 || address:32                     (remove participant)
//!         | 2 || issuer_key:32 || label         (authorise issuer)
//!         | 3 || issuer_key:32                  (withdraw issuer)
//!         | 4 || fingerprint:32 || reason       (revoke certificate)
//!         | 5 || fingerprint:32 || reason       (reinstate certificate)
//!         | 6 || log:32 || entries:u64 || head:32 (commit an audit log head)
//!         | 7 || key:32 || from_height:u64      (rotate the regulator key)
//! epoch_keys = the participant's epoch schedule: 64 compressed points
//! label, reason = len:u32 || utf8 (≤ 128 bytes)
//! signed   = len:u32 || command || count:u32 (≤ 8) || approval*
//! approval = len:u32 || certificate_der || signature:64
//! signature = Ed25519(operator key, domain "sable-admin-v1" || chain_id:32, command)
//! ```
//!
//! The chain id in the signature domain (the hash of the network's namespace, as in
//! transactions) means a command signed for one network is invalid on every other,
//! even one whose consortium CA is the same.
//!
//! A command's id is the hash of the command alone, so the operators' command executes
//! once whoever relays it and whichever M approvals it carries. A copy that fails
//! authentication (a Byzantine leader flips a signature byte, say, or drops an
//! approval) is recorded under the id of its exact bytes
//! ([`SignedAdminCommand::copy_id`]), never under the command's: it cannot burn the
//! genuine command's id.

use sable_circuits::{
    encoding::{DecodeError, Reader, Writer},
    epoch::{EpochSchedule, EPOCH_SCHEDULE_SIZE},
    keys::{Address, FullViewingKey, RegulatorPublicKey},
    transaction::ChainId,
};

use sable_pki::{Fingerprint, Identity, PkiError, Role, SigningKey};

use crate::{
    block::TxId,
    params::{ChainParams, Governance},
};

pub use crate::params::MAX_APPROVALS;

/// Command encoding version.
pub const ADMIN_VERSION: u8 = 1;
/// Signature domain (followed by the chain id: [`admin_domain`]).
pub const ADMIN_DOMAIN: &[u8] = b"sable-admin-v1";

/// The signature domain of operator commands on `chain`.
pub fn admin_domain(chain: &ChainId) -> Vec<u8> {
    [ADMIN_DOMAIN, &chain.0[..]].concat()
}
const MAX_TEXT: usize = 128;
const MAX_CERT: usize = 2048;
/// The longest command: version, nonce, op, an address, an epoch schedule and a
/// length-prefixed text (registering a participant is the longest op).
const MAX_COMMAND: usize = 1 + 8 + 1 + 32 + EPOCH_SCHEDULE_SIZE + 4 + MAX_TEXT;
// A signed command with the most approvals fits the node's limit.
const _: () = assert!(
    4 + MAX_COMMAND + 4 + crate::params::MAX_APPROVALS * (4 + MAX_CERT + 64)
        <= crate::block::MAX_ADMIN_BYTES
);

/// A change an operator asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminOp {
    /// Register a participant address (after KYC), with its epoch key schedule (what
    /// its epoch view keys open, committed beside its address in the registry).
    AddParticipant {
        /// The participant's shielded address.
        address: Address,
        /// The participant's public epoch key schedule.
        epoch_keys: EpochSchedule,
        /// Human label (e.g. the bank's name).
        label: String,
    },
    /// Remove a participant: from the next block it can neither send nor receive.
    RemoveParticipant {
        /// The participant's shielded address.
        address: Address,
    },
    /// Allow an issuer key to issue assets.
    AuthorizeIssuer {
        /// RedPallas issuer verification key bytes.
        issuer_key: [u8; 32],
        /// Human label.
        label: String,
    },
    /// Withdraw an issuer's authorisation.
    RevokeIssuer {
        /// RedPallas issuer verification key bytes.
        issuer_key: [u8; 32],
    },
    /// Put a certificate on the revocation list (any role, validators included).
    RevokeCertificate {
        /// SHA-256 of the certificate's DER.
        fingerprint: Fingerprint,
        /// Why.
        reason: String,
    },
    /// Take a certificate off the revocation list.
    ReinstateCertificate {
        /// SHA-256 of the certificate's DER.
        fingerprint: Fingerprint,
        /// Why.
        reason: String,
    },
    /// Commit the head of a regulator key's decryption audit log (the hash chain of
    /// every decryption share its holders released), so the audited can later check
    /// the log against what the chain recorded. A log only grows: a commitment must
    /// cover more entries than the last one for the same log.
    CommitAuditLog {
        /// Which log: the digest of the regulator key it records the use of.
        log: [u8; 32],
        /// How many entries the head covers.
        entries: u64,
        /// The hash of the last of them.
        head: [u8; 32],
    },
    /// Rotate the chain's regulator key: blocks from `from_height` on take only
    /// transactions proven for `key` (see [`crate::regulator`]). Notes before it stay
    /// readable with the old key only.
    RotateRegulatorKey {
        /// The new key.
        key: RegulatorPublicKey,
        /// The first height it applies to (after the block that applies this command).
        from_height: u64,
    },
}

/// An operator command: an operation and a nonce that makes it unique.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminCommand {
    /// Distinguishes otherwise equal commands.
    pub nonce: u64,
    /// The change.
    pub op: AdminOp,
}

impl AdminOp {
    /// Registers the participant whose full viewing key is `fvk`: its address and its
    /// epoch schedule (what a bank hands its operators at onboarding; neither reveals
    /// the key).
    pub fn add_participant(fvk: &FullViewingKey, label: impl Into<String>) -> Self {
        AdminOp::AddParticipant {
            address: fvk.address(),
            epoch_keys: fvk.epoch_schedule(),
            label: label.into(),
        }
    }
}

/// Why an operator command is refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Malformed bytes.
    #[error("malformed admin command: {0}")]
    Decode(#[from] DecodeError),
    /// The certificate is not a valid consortium certificate.
    #[error("operator certificate rejected: {0}")]
    Certificate(#[from] PkiError),
    /// The certificate is valid but not an operator's.
    #[error("certificate of {0} is not an operator certificate")]
    NotOperator(Identity),
    /// An operator certificate the chain's genesis does not list among its governors.
    #[error("operator {0} is not one of the chain's governing operators")]
    NotGoverning(Identity),
    /// The certificate is revoked.
    #[error("operator certificate of {0} is revoked")]
    Revoked(Identity),
    /// A signature does not verify.
    #[error("invalid operator signature by {0}")]
    BadSignature(Identity),
    /// One operator approved twice.
    #[error("operator {0} approved the command twice")]
    DuplicateApproval(Identity),
    /// The operator's key could not sign.
    #[error("cannot sign the command: {0}")]
    Signing(PkiError),
    /// Fewer than M approvals.
    #[error("{have} operator approvals, the chain needs {need}")]
    TooFewApprovals {
        /// Approvals carried.
        have: usize,
        /// M.
        need: usize,
    },
}

fn write_text(w: &mut Writer, s: &str) {
    w.var_bytes(s.as_bytes());
}

fn read_text(r: &mut Reader<'_>, what: &'static str) -> Result<String, DecodeError> {
    let b = r.var_bytes(what, MAX_TEXT)?;
    String::from_utf8(b.to_vec()).map_err(|_| DecodeError::InvalidUtf8(what))
}

impl AdminCommand {
    /// Canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(ADMIN_VERSION).u64(self.nonce);
        match &self.op {
            AdminOp::AddParticipant {
                address,
                epoch_keys,
                label,
            } => {
                w.u8(0)
                    .bytes(&address.to_bytes())
                    .bytes(&epoch_keys.to_bytes());
                write_text(&mut w, label);
            }
            AdminOp::RemoveParticipant { address } => {
                w.u8(1).bytes(&address.to_bytes());
            }
            AdminOp::AuthorizeIssuer { issuer_key, label } => {
                w.u8(2).bytes(issuer_key);
                write_text(&mut w, label);
            }
            AdminOp::RevokeIssuer { issuer_key } => {
                w.u8(3).bytes(issuer_key);
            }
            AdminOp::RevokeCertificate {
                fingerprint,
                reason,
            } => {
                w.u8(4).bytes(fingerprint);
                write_text(&mut w, reason);
            }
            AdminOp::ReinstateCertificate {
                fingerprint,
                reason,
            } => {
                w.u8(5).bytes(fingerprint);
                write_text(&mut w, reason);
            }
            AdminOp::CommitAuditLog { log, entries, head } => {
                w.u8(6).bytes(log).u64(*entries).bytes(head);
            }
            AdminOp::RotateRegulatorKey { key, from_height } => {
                w.u8(7).bytes(&key.to_bytes()).u64(*from_height);
            }
        }
        w.into_bytes()
    }

    /// Decodes [`AdminCommand::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("admin version")?;
        if version != ADMIN_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "admin command",
                found: version,
                expected: ADMIN_VERSION,
            });
        }
        let nonce = r.u64("admin nonce")?;
        let op = match r.u8("admin op")? {
            0 => AdminOp::AddParticipant {
                address: Address::from_bytes(&r.array("address")?)?,
                epoch_keys: EpochSchedule::from_bytes(r.bytes(EPOCH_SCHEDULE_SIZE, "epoch keys")?)?,
                label: read_text(&mut r, "label")?,
            },
            1 => AdminOp::RemoveParticipant {
                address: Address::from_bytes(&r.array("address")?)?,
            },
            2 => AdminOp::AuthorizeIssuer {
                issuer_key: r.array("issuer key")?,
                label: read_text(&mut r, "label")?,
            },
            3 => AdminOp::RevokeIssuer {
                issuer_key: r.array("issuer key")?,
            },
            4 => AdminOp::RevokeCertificate {
                fingerprint: r.array("fingerprint")?,
                reason: read_text(&mut r, "reason")?,
            },
            5 => AdminOp::ReinstateCertificate {
                fingerprint: r.array("fingerprint")?,
                reason: read_text(&mut r, "reason")?,
            },
            6 => AdminOp::CommitAuditLog {
                log: r.array("audit log")?,
                entries: r.u64("audit log entries")?,
                head: r.array("audit log head")?,
            },
            7 => AdminOp::RotateRegulatorKey {
                key: RegulatorPublicKey::from_bytes(&r.array("regulator key")?)?,
                from_height: r.u64("rotation height")?,
            },
            _ => return Err(DecodeError::InvalidKey("unknown admin op")),
        };
        r.finish()?;
        Ok(AdminCommand { nonce, op })
    }

    /// One operator's approval of the command for `chain`, with its key (Ed25519 or
    /// P-256) and certificate.
    pub fn approve(
        &self,
        chain: &ChainId,
        operator_key: &SigningKey,
        operator_cert_der: Vec<u8>,
    ) -> Result<Approval, AdminError> {
        Ok(Approval {
            certificate: operator_cert_der,
            signature: operator_key
                .sign(&admin_domain(chain), &self.to_bytes())
                .map_err(AdminError::Signing)?,
        })
    }

    /// The command with one operator's approval (enough on a chain governed 1 of N).
    pub fn sign(
        &self,
        chain: &ChainId,
        operator_key: &SigningKey,
        operator_cert_der: Vec<u8>,
    ) -> Result<SignedAdminCommand, AdminError> {
        Ok(SignedAdminCommand::new(
            self,
            vec![self.approve(chain, operator_key, operator_cert_der)?],
        ))
    }
}

/// One operator's signature over a command, with its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    /// The operator's certificate (DER).
    pub certificate: Vec<u8>,
    /// Signature over the command under [`admin_domain`] (Ed25519 or P-256, 64 bytes).
    pub signature: [u8; 64],
}

/// A command with its operators' approvals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedAdminCommand {
    /// [`AdminCommand::to_bytes`].
    pub command: Vec<u8>,
    /// The operators' approvals.
    pub approvals: Vec<Approval>,
}

impl SignedAdminCommand {
    /// `cmd` with `approvals`.
    pub fn new(cmd: &AdminCommand, approvals: Vec<Approval>) -> Self {
        SignedAdminCommand {
            command: cmd.to_bytes(),
            approvals,
        }
    }

    /// Canonical encoding (as carried in blocks).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.var_bytes(&self.command).count(self.approvals.len());
        for a in &self.approvals {
            w.var_bytes(&a.certificate).bytes(&a.signature);
        }
        w.into_bytes()
    }

    /// Decodes [`SignedAdminCommand::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let command = r.var_bytes("admin command", MAX_COMMAND)?.to_vec();
        let n = r.count("operator approvals", MAX_APPROVALS)?;
        let mut approvals = Vec::with_capacity(n);
        for _ in 0..n {
            approvals.push(Approval {
                certificate: r.var_bytes("operator certificate", MAX_CERT)?.to_vec(),
                signature: r.array("operator signature")?,
            });
        }
        r.finish()?;
        Ok(SignedAdminCommand { command, approvals })
    }

    /// The command's id (replay protection and status tracking).
    pub fn id(&self) -> TxId {
        TxId::of(&self.command)
    }

    /// The id of these exact bytes (command and approvals): what a copy that fails
    /// [`SignedAdminCommand::authenticate`] is recorded under, so that it cannot take
    /// the genuine command's [`id`](SignedAdminCommand::id).
    pub fn copy_id(&self) -> TxId {
        TxId::of(&self.to_bytes())
    }

    /// The checks that need no chain state: every approval is by a distinct operator
    /// the chain's governance lists, with a consortium certificate valid at
    /// `unix_secs` and a signature for the chain; at least M of them; decodes the
    /// command. Returns the approvers. Any bad approval refuses the whole command, so
    /// what executes is exactly what the operators signed and sent.
    pub fn authenticate(
        &self,
        params: &ChainParams,
        unix_secs: i64,
    ) -> Result<(Vec<Identity>, AdminCommand), AdminError> {
        let gov: &Governance = &params.governance;
        let domain = admin_domain(&params.chain);
        let mut approvers: Vec<Identity> = Vec::with_capacity(self.approvals.len());
        for a in &self.approvals {
            let who = params.ca.verify_at(&a.certificate, unix_secs)?;
            if who.role != Role::Operator {
                return Err(AdminError::NotOperator(who));
            }
            if !gov.is_operator(&who.fingerprint) {
                return Err(AdminError::NotGoverning(who));
            }
            if approvers.iter().any(|p| p.fingerprint == who.fingerprint) {
                return Err(AdminError::DuplicateApproval(who));
            }
            if !who.public_key.verify(&domain, &self.command, &a.signature) {
                return Err(AdminError::BadSignature(who));
            }
            approvers.push(who);
        }
        if approvers.len() < gov.threshold() {
            return Err(AdminError::TooFewApprovals {
                have: approvers.len(),
                need: gov.threshold(),
            });
        }
        let cmd = AdminCommand::from_bytes(&self.command)?;
        Ok((approvers, cmd))
    }

    /// [`SignedAdminCommand::authenticate`], and no approver's certificate is revoked.
    pub fn verify(
        &self,
        params: &ChainParams,
        unix_secs: i64,
        is_revoked: impl Fn(&Fingerprint) -> bool,
    ) -> Result<(Vec<Identity>, AdminCommand), AdminError> {
        let (approvers, cmd) = self.authenticate(params, unix_secs)?;
        if let Some(who) = approvers.iter().find(|w| is_revoked(&w.fingerprint)) {
            return Err(AdminError::Revoked(who.clone()));
        }
        Ok((approvers, cmd))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sable_circuits::keys::{RegulatorSecretKey, SpendingKey};
    use sable_pki::{
        fingerprint, generate_dev_pki, load_certificate_pem, CertificateAuthority, DevPkiSpec,
    };

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn ops() -> Vec<AdminOp> {
        let fvk = SpendingKey::random(&mut rand::rng()).full_viewing_key();
        let addr = fvk.address();
        vec![
            AdminOp::add_participant(&fvk, "Bank A"),
            AdminOp::RemoveParticipant { address: addr },
            AdminOp::AuthorizeIssuer {
                issuer_key: [5; 32],
                label: "Treasury".into(),
            },
            AdminOp::RevokeIssuer {
                issuer_key: [5; 32],
            },
            AdminOp::RevokeCertificate {
                fingerprint: [9; 32],
                reason: "key compromise".into(),
            },
            AdminOp::ReinstateCertificate {
                fingerprint: [9; 32],
                reason: "key rotated back".into(),
            },
            AdminOp::CommitAuditLog {
                log: [3; 32],
                entries: 12,
                head: [4; 32],
            },
            AdminOp::RotateRegulatorKey {
                key: RegulatorSecretKey::random(&mut rand::rng()).public_key(),
                from_height: 40,
            },
        ]
    }

    #[test]
    fn commands_round_trip_and_reject_truncations() {
        for (i, op) in ops().into_iter().enumerate() {
            let c = AdminCommand {
                nonce: i as u64,
                op,
            };
            let b = c.to_bytes();
            assert_eq!(AdminCommand::from_bytes(&b).unwrap(), c);
            for n in 0..b.len() {
                assert!(AdminCommand::from_bytes(&b[..n]).is_err());
            }
        }
        let mut bad = AdminCommand {
            nonce: 0,
            op: ops().remove(3),
        }
        .to_bytes();
        bad[9] = 77;
        assert!(AdminCommand::from_bytes(&bad).is_err());
        // A registration whose schedule holds the identity, or bytes that are no point,
        // does not decode.
        let registration = AdminCommand {
            nonce: 1,
            op: ops().remove(0),
        }
        .to_bytes();
        for (fill, expected) in [
            (0x00, DecodeError::IdentityPoint("epoch public key")),
            (0xff, DecodeError::InvalidPoint("epoch public key")),
        ] {
            let mut bad = registration.clone();
            // The fifth epoch's key: after version, nonce, op and address.
            let at = 1 + 8 + 1 + 32 + 4 * 32;
            bad[at..at + 32].fill(fill);
            assert_eq!(AdminCommand::from_bytes(&bad), Err(expected));
        }
        // A rotation to the identity, or to bytes that are no point, does not decode.
        let rotation = AdminCommand {
            nonce: 1,
            op: ops().pop().unwrap(),
        }
        .to_bytes();
        for (fill, expected) in [
            (0x00, DecodeError::IdentityPoint("regulator public key")),
            (0xff, DecodeError::InvalidPoint("regulator public key")),
        ] {
            let mut bad = rotation.clone();
            bad[10..42].fill(fill);
            assert_eq!(AdminCommand::from_bytes(&bad), Err(expected));
        }
    }

    struct Gov {
        _dir: tempfile::TempDir,
        params: ChainParams,
        ops: Vec<(SigningKey, Vec<u8>)>,
        bank: (SigningKey, Vec<u8>),
    }

    /// A chain governed 2 of 3 (`operator-0..2`); `operator-3` is an operator of the
    /// consortium the chain does not list.
    fn governed() -> Gov {
        let dir = tempfile::tempdir().unwrap();
        let spec = DevPkiSpec {
            operators: 4,
            ..DevPkiSpec::default()
        };
        let pki = generate_dev_pki(dir.path(), &spec).unwrap();
        let ca = CertificateAuthority::load(&pki.ca_cert).unwrap();
        let load = |name: &str| {
            let id = pki.identity(name).unwrap();
            (
                SigningKey::load(&id.key).unwrap(),
                load_certificate_pem(&id.cert).unwrap(),
            )
        };
        let ops: Vec<_> = (0..4).map(|i| load(&format!("operator-{i}"))).collect();
        let governors = ops[..3].iter().map(|(_, c)| fingerprint(c)).collect();
        let params = ChainParams {
            chain: ChainId::from_namespace("sable-test"),
            regulator: RegulatorSecretKey::random(&mut rand::rng()).public_key(),
            ca,
            registry_root_window: 16,
            validators: vec![[7; 32]],
            governance: Governance::new(2, governors).unwrap(),
        };
        Gov {
            _dir: dir,
            params,
            ops,
            bank: load("bank-a"),
        }
    }

    impl Gov {
        fn approve(&self, cmd: &AdminCommand, who: usize) -> Approval {
            let (key, cert) = &self.ops[who];
            cmd.approve(&self.params.chain, key, cert.clone()).unwrap()
        }
        fn signed(&self, cmd: &AdminCommand, who: &[usize]) -> SignedAdminCommand {
            SignedAdminCommand::new(cmd, who.iter().map(|&i| self.approve(cmd, i)).collect())
        }
    }

    fn command(nonce: u64) -> AdminCommand {
        AdminCommand {
            nonce,
            op: ops().remove(0),
        }
    }

    #[test]
    fn m_distinct_governing_operators_must_approve() {
        let g = governed();
        let cmd = command(1);
        let signed = g.signed(&cmd, &[0, 2]);
        let (who, decoded) = signed.verify(&g.params, now(), |_| false).unwrap();
        assert_eq!(who.len(), 2);
        assert!(who.iter().all(|w| w.role == Role::Operator));
        assert_eq!(decoded, cmd);
        assert_eq!(
            SignedAdminCommand::from_bytes(&signed.to_bytes()).unwrap(),
            signed
        );
        // All three is fine too, and the id does not depend on which approvals.
        let all = g.signed(&cmd, &[2, 1, 0]);
        assert!(all.verify(&g.params, now(), |_| false).is_ok());
        assert_eq!(all.id(), signed.id());
        assert_ne!(all.copy_id(), signed.copy_id());

        // One operator alone is not enough, nor is one operator twice.
        assert!(matches!(
            g.signed(&cmd, &[1]).verify(&g.params, now(), |_| false),
            Err(AdminError::TooFewApprovals { have: 1, need: 2 })
        ));
        assert!(matches!(
            g.signed(&cmd, &[1, 1]).verify(&g.params, now(), |_| false),
            Err(AdminError::DuplicateApproval(_))
        ));
        assert!(matches!(
            SignedAdminCommand::new(&cmd, vec![]).verify(&g.params, now(), |_| false),
            Err(AdminError::TooFewApprovals { have: 0, need: 2 })
        ));
        // An operator of the consortium the chain's genesis does not list.
        assert!(matches!(
            g.signed(&cmd, &[0, 3]).verify(&g.params, now(), |_| false),
            Err(AdminError::NotGoverning(_))
        ));
        // A bank's certificate is no operator's, whatever it signs.
        let mut by_bank = g.signed(&cmd, &[0]);
        by_bank.approvals.push(
            cmd.approve(&g.params.chain, &g.bank.0, g.bank.1.clone())
                .unwrap(),
        );
        assert!(matches!(
            by_bank.verify(&g.params, now(), |_| false),
            Err(AdminError::NotOperator(_))
        ));
        // A revoked approver spoils the command.
        let revoked = fingerprint(&g.ops[2].1);
        assert!(matches!(
            signed.verify(&g.params, now(), |fp| *fp == revoked),
            Err(AdminError::Revoked(w)) if w.fingerprint == revoked
        ));
        assert!(g
            .signed(&cmd, &[0, 1])
            .verify(&g.params, now(), |fp| *fp == revoked)
            .is_ok());
    }

    #[test]
    fn every_approval_must_sign_this_command_for_this_chain() {
        let g = governed();
        let cmd = command(1);
        let signed = g.signed(&cmd, &[0, 1]);
        // A signature over another command.
        let mut forged = signed.clone();
        forged.approvals[1] = g.approve(&command(2), 1);
        assert!(matches!(
            forged.verify(&g.params, now(), |_| false),
            Err(AdminError::BadSignature(_))
        ));
        // One operator's certificate with another's signature.
        let mut swapped = signed.clone();
        swapped.approvals[1].signature = signed.approvals[0].signature;
        assert!(matches!(
            swapped.verify(&g.params, now(), |_| false),
            Err(AdminError::BadSignature(_))
        ));
        // Signed for another network (same CA, same operators): invalid here.
        let mut elsewhere = g.params.clone();
        elsewhere.chain = ChainId::from_namespace("sable-other");
        assert!(matches!(
            signed.verify(&elsewhere, now(), |_| false),
            Err(AdminError::BadSignature(_))
        ));
        // A tampered copy has the command's id but not its exact bytes' id.
        let mut flipped = signed.clone();
        flipped.approvals[0].signature[0] ^= 1;
        assert_eq!(flipped.id(), signed.id());
        assert_ne!(flipped.copy_id(), signed.copy_id());
        assert!(matches!(
            flipped.authenticate(&g.params, now()),
            Err(AdminError::BadSignature(_))
        ));
        // Outside the certificates' validity period.
        assert!(matches!(
            signed.verify(&g.params, 0, |_| false),
            Err(AdminError::Certificate(PkiError::Validity))
        ));
    }

    #[test]
    fn approvals_are_bounded_when_decoding() {
        let g = governed();
        let cmd = command(1);
        let one = g.approve(&cmd, 0);
        let at_most = SignedAdminCommand::new(&cmd, vec![one.clone(); MAX_APPROVALS]);
        assert!(SignedAdminCommand::from_bytes(&at_most.to_bytes()).is_ok());
        let too_many = SignedAdminCommand::new(&cmd, vec![one; MAX_APPROVALS + 1]);
        assert!(SignedAdminCommand::from_bytes(&too_many.to_bytes()).is_err());
        let b = g.signed(&cmd, &[0, 1]).to_bytes();
        for n in 0..b.len() {
            assert!(SignedAdminCommand::from_bytes(&b[..n]).is_err());
        }
    }
}
