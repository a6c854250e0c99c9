//! Operator commands: changes to the participant registry, the authorised issuers and
//! the certificate revocation list.
//!
//! An operator signs each command with its certificate key and sends the certificate
//! along, so every validator checks the operator's authority itself when the command is
//! admitted and again when its block executes; a validator cannot invent one. A command
//! executes at most once (its id is recorded).
//!
//! # Format
//! ```text
//! command = version:u8(=1) || nonce:u64 || op
//! op      = 0 || address:32 || label            (add participant)
//!         | 1 || address:32                     (remove participant)
//!         | 2 || issuer_key:32 || label         (authorise issuer)
//!         | 3 || issuer_key:32                  (withdraw issuer)
//!         | 4 || fingerprint:32 || reason       (revoke certificate)
//! label, reason = len:u32 || utf8 (≤ 128 bytes)
//! signed  = len:u32 || command || len:u32 || certificate_der || signature:64
//! signature = Ed25519(operator key, domain "sable-admin-v1" || chain_id:32, command)
//! ```
//!
//! The chain id in the signature domain (the hash of the network's namespace, as in
//! transactions) means a command signed for one network is invalid on every other,
//! even one whose consortium CA is the same.
//!
//! A command's id is the hash of the command alone, so the operator's command executes
//! once whoever relays it. A copy that fails authentication (a Byzantine leader flips a
//! signature byte, say) is recorded under the id of its exact bytes
//! ([`SignedAdminCommand::copy_id`]), never under the command's: it cannot burn the
//! genuine command's id.

use sable_circuits::{
    encoding::{DecodeError, Reader, Writer},
    keys::Address,
    transaction::ChainId,
};

use sable_pki::{CertificateAuthority, Fingerprint, Identity, PkiError, Role, SigningKey};

use crate::block::TxId;

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

/// A change an operator asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminOp {
    /// Register a participant address (after KYC).
    AddParticipant {
        /// The participant's shielded address.
        address: Address,
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
}

/// An operator command: an operation and a nonce that makes it unique.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminCommand {
    /// Distinguishes otherwise equal commands.
    pub nonce: u64,
    /// The change.
    pub op: AdminOp,
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
    /// The certificate is revoked.
    #[error("operator certificate of {0} is revoked")]
    Revoked(Identity),
    /// The signature does not verify.
    #[error("invalid operator signature")]
    BadSignature,
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
            AdminOp::AddParticipant { address, label } => {
                w.u8(0).bytes(&address.to_bytes());
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
            _ => return Err(DecodeError::InvalidKey("unknown admin op")),
        };
        r.finish()?;
        Ok(AdminCommand { nonce, op })
    }

    /// Signs the command for `chain` with an operator's key (Ed25519 or P-256) and
    /// certificate.
    pub fn sign(
        &self,
        chain: &ChainId,
        operator_key: &SigningKey,
        operator_cert_der: Vec<u8>,
    ) -> Result<SignedAdminCommand, AdminError> {
        let command = self.to_bytes();
        let signature = operator_key.sign(&admin_domain(chain), &command)?;
        Ok(SignedAdminCommand {
            command,
            certificate: operator_cert_der,
            signature,
        })
    }
}

/// A command with its operator's certificate and signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedAdminCommand {
    /// [`AdminCommand::to_bytes`].
    pub command: Vec<u8>,
    /// The operator's certificate (DER).
    pub certificate: Vec<u8>,
    /// The operator's signature over the command (Ed25519 or P-256, 64 bytes).
    pub signature: [u8; 64],
}

impl SignedAdminCommand {
    /// Canonical encoding (as carried in blocks).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.var_bytes(&self.command)
            .var_bytes(&self.certificate)
            .bytes(&self.signature);
        w.into_bytes()
    }

    /// Decodes [`SignedAdminCommand::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let command = r.var_bytes("admin command", MAX_TEXT + 64)?.to_vec();
        let certificate = r.var_bytes("operator certificate", MAX_CERT)?.to_vec();
        let signature = r.array("operator signature")?;
        r.finish()?;
        Ok(SignedAdminCommand {
            command,
            certificate,
            signature,
        })
    }

    /// The command's id (replay protection and status tracking).
    pub fn id(&self) -> TxId {
        TxId::of(&self.command)
    }

    /// The id of these exact bytes (command, certificate and signature): what a copy
    /// that fails [`SignedAdminCommand::authenticate`] is recorded under, so that it
    /// cannot take the genuine command's [`id`](SignedAdminCommand::id).
    pub fn copy_id(&self) -> TxId {
        TxId::of(&self.to_bytes())
    }

    /// The checks that need no chain state: the certificate (consortium CA, valid at
    /// `unix_secs`, operator role) and the signature for `chain`; decodes the command.
    pub fn authenticate(
        &self,
        chain: &ChainId,
        ca: &CertificateAuthority,
        unix_secs: i64,
    ) -> Result<(Identity, AdminCommand), AdminError> {
        let who = ca.verify_at(&self.certificate, unix_secs)?;
        if who.role != Role::Operator {
            return Err(AdminError::NotOperator(who));
        }
        if !who
            .public_key
            .verify(&admin_domain(chain), &self.command, &self.signature)
        {
            return Err(AdminError::BadSignature);
        }
        let cmd = AdminCommand::from_bytes(&self.command)?;
        Ok((who, cmd))
    }

    /// [`SignedAdminCommand::authenticate`], and the operator's certificate is not
    /// revoked.
    pub fn verify(
        &self,
        chain: &ChainId,
        ca: &CertificateAuthority,
        unix_secs: i64,
        is_revoked: impl Fn(&Fingerprint) -> bool,
    ) -> Result<(Identity, AdminCommand), AdminError> {
        let (who, cmd) = self.authenticate(chain, ca, unix_secs)?;
        if is_revoked(&who.fingerprint) {
            return Err(AdminError::Revoked(who));
        }
        Ok((who, cmd))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sable_circuits::keys::SpendingKey;
    use sable_pki::{generate_dev_pki, load_certificate_pem, DevPkiSpec};

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn ops() -> Vec<AdminOp> {
        let addr = SpendingKey::random(&mut rand::rng())
            .full_viewing_key()
            .address();
        vec![
            AdminOp::AddParticipant {
                address: addr,
                label: "Bank A".into(),
            },
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
    }

    #[test]
    fn only_unrevoked_operators_with_valid_signatures_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let pki = generate_dev_pki(dir.path(), &DevPkiSpec::default()).unwrap();
        let ca = CertificateAuthority::load(&pki.ca_cert).unwrap();
        let op = pki.identity("operator-0").unwrap();
        let bank = pki.identity("bank-a").unwrap();
        let cmd = AdminCommand {
            nonce: 1,
            op: ops().remove(0),
        };

        let chain = ChainId::from_namespace("sable-test");
        let signed = cmd
            .sign(
                &chain,
                &SigningKey::load(&op.key).unwrap(),
                load_certificate_pem(&op.cert).unwrap(),
            )
            .unwrap();
        let (who, decoded) = signed.verify(&chain, &ca, now(), |_| false).unwrap();
        assert_eq!(who.role, Role::Operator);
        assert_eq!(decoded, cmd);
        let again = SignedAdminCommand::from_bytes(&signed.to_bytes()).unwrap();
        assert_eq!(again, signed);

        assert!(matches!(
            signed.verify(&chain, &ca, now(), |_| true),
            Err(AdminError::Revoked(_))
        ));
        let mut forged = signed.clone();
        forged.command = AdminCommand {
            nonce: 2,
            op: ops().remove(0),
        }
        .to_bytes();
        assert!(matches!(
            forged.verify(&chain, &ca, now(), |_| false),
            Err(AdminError::BadSignature)
        ));

        let by_bank = cmd
            .sign(
                &chain,
                &SigningKey::load(&bank.key).unwrap(),
                load_certificate_pem(&bank.cert).unwrap(),
            )
            .unwrap();
        assert!(matches!(
            by_bank.verify(&chain, &ca, now(), |_| false),
            Err(AdminError::NotOperator(_))
        ));
        // An operator certificate with someone else's key signature.
        let mut wrong_key = signed.clone();
        wrong_key.signature = by_bank.signature;
        assert!(matches!(
            wrong_key.verify(&chain, &ca, now(), |_| false),
            Err(AdminError::BadSignature)
        ));
        // Signed for another network (same CA): invalid here.
        assert!(matches!(
            signed.verify(&ChainId::from_namespace("sable-other"), &ca, now(), |_| {
                false
            }),
            Err(AdminError::BadSignature)
        ));
        // A tampered copy has the command's id but not its exact bytes' id.
        let mut flipped = signed.clone();
        flipped.signature[0] ^= 1;
        assert_eq!(flipped.id(), signed.id());
        assert_ne!(flipped.copy_id(), signed.copy_id());
        assert!(matches!(
            flipped.authenticate(&chain, &ca, now()),
            Err(AdminError::BadSignature)
        ));
        // Outside the certificate's validity period.
        assert!(matches!(
            signed.verify(&chain, &ca, 0, |_| false),
            Err(AdminError::Certificate(PkiError::Validity))
        ));
    }
}
