//! Encryption at rest for secrets (plugin secret configuration values).
//!
//! ChaCha20-Poly1305 with a 256-bit key kept outside the database (a key file
//! in the data directory, or `SWITCHBOARD_SECRET_KEY` for several nodes).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

use crate::desk::DeskError;

/// Seals and opens secrets with the server's key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// A box over a 32-byte key.
    pub fn new(key: &[u8; 32]) -> SecretBox {
        SecretBox { cipher: ChaCha20Poly1305::new(Key::from_slice(key)) }
    }

    /// Encrypts `plain` into `v1:<base64 nonce+ciphertext>`.
    pub fn seal(&self, plain: &str) -> Result<String, DeskError> {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .map_err(|_| DeskError::Conflict("could not encrypt a secret".into()))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("v1:{}", STANDARD.encode(out)))
    }

    /// Decrypts a value made by [`SecretBox::seal`].
    pub fn open(&self, sealed: &str) -> Result<String, DeskError> {
        let fail = || DeskError::Conflict("a stored secret cannot be decrypted: was the secret key changed?".into());
        let bytes = sealed.strip_prefix("v1:").and_then(|b| STANDARD.decode(b).ok()).ok_or_else(fail)?;
        if bytes.len() < 12 {
            return Err(fail());
        }
        let (nonce, body) = bytes.split_at(12);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), body).map_err(|_| fail())?;
        String::from_utf8(plain).map_err(|_| fail())
    }
}

#[cfg(test)]
mod tests {
    use super::SecretBox;

    #[test]
    fn sealed_values_open_only_with_the_same_key() {
        let a = SecretBox::new(&[7; 32]);
        let sealed = a.seal("hunter2").expect("seal");
        assert!(!sealed.contains("hunter2"));
        assert_ne!(sealed, a.seal("hunter2").expect("seal"), "fresh nonce each time");
        assert_eq!(a.open(&sealed).expect("open"), "hunter2");
        assert!(SecretBox::new(&[8; 32]).open(&sealed).is_err());
    }
}
