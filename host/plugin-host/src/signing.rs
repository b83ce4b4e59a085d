//! Plugin signatures: one ed25519 signature over a digest of the component
//! *and* its manifest, so neither can be changed after signing.
//!
//! The signed message is the 32-byte SHA-256 of
//!
//! ```text
//! "switchboard-plugin-signature-v1"          (31 ASCII bytes, no terminator)
//! u64 big-endian length of the component || the component's bytes
//! u64 big-endian length of the manifest  || the manifest's bytes (plugin.toml exactly as installed)
//! ```
//!
//! A signature is the 64-byte ed25519 signature of that digest, written as 128
//! hex digits; a private key file holds the 32-byte ed25519 seed as 64 hex
//! digits; a public key (for `plugin trust-key`) is 64 hex digits.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// The domain separator that starts every signed digest; a new format gets a new one.
pub const DOMAIN: &[u8] = b"switchboard-plugin-signature-v1";

/// A problem with a key or signature text, said for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SigningError(pub String);

/// The digest a signature signs: [`DOMAIN`], then each part with its length
/// as 8 bytes big-endian before it (so no byte can move from one part to the other).
pub fn signed_digest(component: &[u8], manifest: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN);
    for part in [component, manifest] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// A private key read from its file text (64 hex digits of the ed25519 seed).
pub fn private_key(text: &str) -> Result<SigningKey, SigningError> {
    let seed = hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| SigningError("a private key file holds 64 hex digits (switchboard plugin keygen)".into()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The text of a private key file for `seed` (64 hex digits and a newline).
pub fn private_key_text(seed: &[u8; 32]) -> String {
    format!("{}\n", hex::encode(seed))
}

/// The public key of a private key, as `plugin trust-key` takes it.
pub fn public_key_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

/// Signs a component with its manifest; the signature as 128 hex digits.
pub fn sign(key: &SigningKey, component: &[u8], manifest: &[u8]) -> String {
    hex::encode(key.sign(&signed_digest(component, manifest)).to_bytes())
}

/// Parses a signature's text (128 hex digits, surrounding space ignored).
pub fn parse_signature(text: &str) -> Result<Signature, SigningError> {
    let raw = hex::decode(text.trim()).map_err(|_| SigningError("expected 128 hex digits".into()))?;
    Signature::from_slice(&raw).map_err(|_| SigningError("expected a 64-byte ed25519 signature".into()))
}

/// Parses a public key's text (64 hex digits); `None` when it is not one.
pub fn public_key(text: &str) -> Option<VerifyingKey> {
    let bytes = hex::decode(text.trim()).ok().and_then(|k| <[u8; 32]>::try_from(k).ok())?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// Whether `signature` is `key`'s signature of this component with this manifest.
pub fn verifies(key: &VerifyingKey, signature: &Signature, component: &[u8], manifest: &[u8]) -> bool {
    key.verify(&signed_digest(component, manifest), signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        private_key(&private_key_text(&[7u8; 32])).expect("a key")
    }

    #[test]
    fn a_signature_covers_the_component_and_the_manifest() {
        let key = key();
        let public = public_key(&public_key_hex(&key)).expect("public key");
        let sig = parse_signature(&sign(&key, b"wasm", b"name = \"x\"")).expect("signature");
        assert!(verifies(&public, &sig, b"wasm", b"name = \"x\""));
        assert!(!verifies(&public, &sig, b"wasm!", b"name = \"x\""), "a changed component");
        assert!(!verifies(&public, &sig, b"wasm", b"name = \"y\""), "a changed manifest");
        assert!(!verifies(&public, &sig, b"was", b"mname = \"x\""), "a byte moved from one part to the other");
    }

    #[test]
    fn the_digest_is_the_documented_encoding() {
        let mut message = DOMAIN.to_vec();
        message.extend_from_slice(&2u64.to_be_bytes());
        message.extend_from_slice(b"ab");
        message.extend_from_slice(&1u64.to_be_bytes());
        message.extend_from_slice(b"c");
        assert_eq!(signed_digest(b"ab", b"c"), <[u8; 32]>::from(Sha256::digest(&message)));
    }

    #[test]
    fn bad_texts_are_named() {
        assert!(private_key("abc").is_err());
        assert!(parse_signature("zz").expect_err("not hex").0.contains("hex"));
        assert!(parse_signature("abcd").expect_err("short").0.contains("64-byte"));
        assert!(public_key("00").is_none());
    }
}
