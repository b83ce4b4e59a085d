//! `switchboard plugin keygen` and `plugin sign`: an author's signing key and
//! signatures over a component with its manifest (format in `plugin::signing`).

use std::io::Write;
use std::path::Path;

use crate::cli::CliError;
use crate::plugin::signing;

/// Writes a new private key to `out` (mode 0600, never over an existing
/// file) and returns its public key in hex, for `plugin trust-key`.
pub(crate) fn keygen(out: &Path) -> Result<String, CliError> {
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut seed);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).map_err(|e| CliError::Usage(format!("cannot create {}: {e}", out.display())))?;
    file.write_all(signing::private_key_text(&seed).as_bytes())
        .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", out.display())))?;
    let key = signing::private_key(&hex::encode(seed)).map_err(|e| CliError::Usage(e.0))?;
    Ok(signing::public_key_hex(&key))
}

/// Signs `component` with `manifest` using the private key in `key_file`;
/// returns the signature (128 hex digits).
pub(crate) fn sign(key_file: &Path, component: &[u8], manifest: &[u8]) -> Result<String, CliError> {
    let text = std::fs::read_to_string(key_file).map_err(|e| CliError::Usage(format!("cannot read {}: {e}", key_file.display())))?;
    let key = signing::private_key(&text).map_err(|e| CliError::Usage(format!("{}: {}", key_file.display(), e.0)))?;
    Ok(signing::sign(&key, component, manifest))
}
