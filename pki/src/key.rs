//! Keys: what a certificate's key is ([`PublicKey`]) and how its holder signs with it
//! ([`SigningKey`]).
//!
//! # Format
//! A Sable signature is 64 bytes whatever the key: Ed25519 (RFC 8032), or ECDSA P-256
//! over SHA-256 in the fixed-length `r ‖ s` form (ring's `ECDSA_P256_SHA256_FIXED`).
//! Either signs the message prefixed by its domain (`u32` little-endian length, then the
//! domain bytes), so a signature made for one purpose never verifies for another.
//! RSA keys authenticate TLS connections only: their signatures do not fit 64 bytes, so
//! they never verify a Sable signature.

use std::{fmt, path::Path};

use ring::{
    rand::SystemRandom,
    signature::{
        EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
        ECDSA_P256_SHA256_FIXED_SIGNING, ED25519,
    },
};
use x509_parser::prelude::X509Certificate;

use super::PkiError;

/// The public key of a certificate.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum PublicKey {
    /// Ed25519 (RFC 8410). Validators' consensus and p2p keys are of this kind.
    Ed25519([u8; 32]),
    /// ECDSA P-256, as an uncompressed SEC1 point (`0x04 ‖ x ‖ y`): what banks' PKIs and
    /// HSMs issue. (Boxed: an [`crate::Identity`] stays small enough to travel in errors.)
    P256(Box<[u8; 65]>),
    /// RSA (the PKCS#1 `RSAPublicKey` DER). Authenticates TLS connections; signs no
    /// Sable message.
    Rsa(Vec<u8>),
}

/// id-Ed25519 (RFC 8410).
const OID_ED25519: &str = "1.3.101.112";
/// id-ecPublicKey (RFC 5480).
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// secp256r1 / prime256v1 (RFC 5480).
const OID_P256: &str = "1.2.840.10045.3.1.7";
/// rsaEncryption (RFC 8017).
const OID_RSA: &str = "1.2.840.113549.1.1.1";

impl PublicKey {
    /// The key of a certificate: Ed25519, P-256 or RSA; any other kind is refused.
    pub(crate) fn of_certificate(cert: &X509Certificate<'_>) -> Result<Self, PkiError> {
        let spki = cert.public_key();
        let data = spki.subject_public_key.data.as_ref();
        match spki.algorithm.algorithm.to_id_string().as_str() {
            OID_ED25519 => data
                .try_into()
                .map(PublicKey::Ed25519)
                .map_err(|_| PkiError::KeyAlgorithm),
            OID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|oid| oid.to_id_string());
                if curve.as_deref() != Some(OID_P256) {
                    return Err(PkiError::KeyAlgorithm);
                }
                match <[u8; 65]>::try_from(data) {
                    Ok(point) if point[0] == 0x04 => Ok(PublicKey::P256(Box::new(point))),
                    _ => Err(PkiError::KeyAlgorithm),
                }
            }
            OID_RSA if !data.is_empty() => Ok(PublicKey::Rsa(data.to_vec())),
            _ => Err(PkiError::KeyAlgorithm),
        }
    }

    /// The algorithm's name (`ed25519`, `p256`, `rsa`).
    pub fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "ed25519",
            PublicKey::P256(_) => "p256",
            PublicKey::Rsa(_) => "rsa",
        }
    }

    /// The Ed25519 key, for what must be Ed25519: a validator's consensus and p2p
    /// identity (commonware's keys). [`PkiError::NotEd25519`] for any other kind.
    pub fn ed25519(&self) -> Result<[u8; 32], PkiError> {
        match self {
            PublicKey::Ed25519(k) => Ok(*k),
            other => Err(PkiError::NotEd25519(other.algorithm())),
        }
    }

    /// Whether `signature` is this key's signature of `message` under `domain` (see the
    /// module's `# Format`). Always false for RSA keys.
    pub fn verify(&self, domain: &[u8], message: &[u8], signature: &[u8; 64]) -> bool {
        let m = domain_separated(domain, message);
        match self {
            PublicKey::Ed25519(k) => UnparsedPublicKey::new(&ED25519, k)
                .verify(&m, signature)
                .is_ok(),
            PublicKey::P256(k) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &k[..])
                .verify(&m, signature)
                .is_ok(),
            PublicKey::Rsa(_) => false,
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes: &[u8] = match self {
            PublicKey::Ed25519(k) => k,
            PublicKey::P256(k) => &k[..],
            PublicKey::Rsa(k) => k,
        };
        write!(f, "{}:", self.algorithm())?;
        for b in bytes.iter().take(8) {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…")
    }
}

/// A private key that signs Sable messages: Ed25519 or ECDSA P-256, read from a PKCS#8
/// key file.
pub struct SigningKey {
    inner: Inner,
}

enum Inner {
    Ed25519 {
        seed: [u8; 32],
        pair: Ed25519KeyPair,
    },
    P256(EcdsaKeyPair),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret.
        write!(f, "SigningKey({:?})", self.public_key())
    }
}

/// DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410 §7); the 32-byte seed follows.
pub(crate) const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

impl SigningKey {
    /// The key of a PKCS#8 PEM file (refused when others can read it).
    pub fn load(path: &Path) -> Result<Self, PkiError> {
        use rustls::pki_types::{pem::PemObject, PrivatePkcs8KeyDer};
        let pem = crate::read_secret(path)?;
        let der = PrivatePkcs8KeyDer::from_pem_slice(&pem)
            .map_err(|_| PkiError::Pem(path.display().to_string(), "PRIVATE KEY"))?;
        Self::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|_| PkiError::KeyFormat(path.display().to_string()))
    }

    /// The key of a PKCS#8 DER document: Ed25519 in the v1 seed form (RFC 8410, as
    /// OpenSSL writes it), or ECDSA P-256.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, PkiError> {
        if let Some(seed) = der
            .strip_prefix(&ED25519_PKCS8_V1_PREFIX[..])
            .and_then(|s| <[u8; 32]>::try_from(s).ok())
        {
            return Self::ed25519(seed);
        }
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
            .map(|pair| SigningKey {
                inner: Inner::P256(pair),
            })
            .map_err(|_| PkiError::KeyFormat("PKCS#8".into()))
    }

    /// The Ed25519 key of a 32-byte seed.
    pub fn ed25519(seed: [u8; 32]) -> Result<Self, PkiError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| PkiError::KeyFormat("Ed25519 seed".into()))?;
        Ok(SigningKey {
            inner: Inner::Ed25519 { seed, pair },
        })
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        match &self.inner {
            Inner::Ed25519 { pair, .. } => {
                let mut k = [0u8; 32];
                k.copy_from_slice(pair.public_key().as_ref());
                PublicKey::Ed25519(k)
            }
            Inner::P256(pair) => {
                let mut k = [0u8; 65];
                k.copy_from_slice(pair.public_key().as_ref());
                PublicKey::P256(Box::new(k))
            }
        }
    }

    /// The Ed25519 seed, for what must be Ed25519 (a validator's consensus key).
    /// [`PkiError::NotEd25519`] for a P-256 key.
    pub fn ed25519_seed(&self) -> Result<[u8; 32], PkiError> {
        match &self.inner {
            Inner::Ed25519 { seed, .. } => Ok(*seed),
            Inner::P256(_) => Err(PkiError::NotEd25519("p256")),
        }
    }

    /// Signs `message` under `domain` (see the module's `# Format`).
    pub fn sign(&self, domain: &[u8], message: &[u8]) -> Result<[u8; 64], PkiError> {
        let m = domain_separated(domain, message);
        let mut sig = [0u8; 64];
        match &self.inner {
            Inner::Ed25519 { pair, .. } => sig.copy_from_slice(pair.sign(&m).as_ref()),
            Inner::P256(pair) => {
                let s = pair
                    .sign(&SystemRandom::new(), &m)
                    .map_err(|_| PkiError::Sign)?;
                if s.as_ref().len() != 64 {
                    return Err(PkiError::Sign);
                }
                sig.copy_from_slice(s.as_ref());
            }
        }
        Ok(sig)
    }
}

/// Reads the 32-byte Ed25519 seed of a PKCS#8 PEM key file (refused when others can
/// read it): a validator's consensus key. [`PkiError::NotEd25519`] for a P-256 key.
pub fn load_key_seed(path: &Path) -> Result<[u8; 32], PkiError> {
    SigningKey::load(path)?.ed25519_seed()
}

fn domain_separated(domain: &[u8], message: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(4 + domain.len() + message.len());
    m.extend_from_slice(&(domain.len() as u32).to_le_bytes());
    m.extend_from_slice(domain);
    m.extend_from_slice(message);
    m
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn p256() -> SigningKey {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        SigningKey::from_pkcs8(doc.as_ref()).unwrap()
    }

    #[test]
    fn signatures_bind_key_domain_and_message_for_both_kinds() {
        for (key, other) in [
            (
                SigningKey::ed25519([7; 32]).unwrap(),
                SigningKey::ed25519([8; 32]).unwrap(),
            ),
            (p256(), p256()),
        ] {
            let pk = key.public_key();
            let sig = key.sign(b"d", b"m").unwrap();
            assert!(pk.verify(b"d", b"m", &sig));
            assert!(!pk.verify(b"e", b"m", &sig), "{pk:?}: other domain");
            assert!(!pk.verify(b"d", b"n", &sig), "{pk:?}: other message");
            assert!(!other.public_key().verify(b"d", b"m", &sig), "other key");
            let mut bad = sig;
            bad[5] ^= 1;
            assert!(!pk.verify(b"d", b"m", &bad), "{pk:?}: tampered");
        }
    }

    #[test]
    fn a_signature_of_one_kind_never_verifies_under_the_other() {
        let (ed, p) = (SigningKey::ed25519([7; 32]).unwrap(), p256());
        let sig = ed.sign(b"d", b"m").unwrap();
        assert!(!p.public_key().verify(b"d", b"m", &sig));
        let sig = p.sign(b"d", b"m").unwrap();
        assert!(!ed.public_key().verify(b"d", b"m", &sig));
        assert!(!PublicKey::Rsa(vec![1; 270]).verify(b"d", b"m", &sig));
    }

    #[test]
    fn only_ed25519_keys_give_a_consensus_key() {
        let ed = SigningKey::ed25519([7; 32]).unwrap();
        assert_eq!(ed.ed25519_seed().unwrap(), [7; 32]);
        assert!(ed.public_key().ed25519().is_ok());
        let p = p256();
        assert!(matches!(
            p.ed25519_seed(),
            Err(PkiError::NotEd25519("p256"))
        ));
        assert!(matches!(
            p.public_key().ed25519(),
            Err(PkiError::NotEd25519("p256"))
        ));
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert!(matches!(
            SigningKey::from_pkcs8(&[0x30, 0x03, 0x02, 0x01, 0x00]),
            Err(PkiError::KeyFormat(_))
        ));
    }
}
