//! Directory grants: which host directories a plugin may be given. Every
//! grant is canonicalised (`..` and symbolic links resolved) and then
//! checked, at install, at every load and again before every call.

use std::path::{Component, Path, PathBuf};

use crate::manifest::{DirectoryGrant, ManifestError};

/// System directories no plugin is given: neither they, nor anything inside
/// them, nor a directory that contains one (`/var` holds `/var/lib`).
pub const SYSTEM_DIRECTORIES: &[&str] = &[
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run", "/sbin", "/sys", "/usr", "/var/lib",
    "/var/run",
];

/// The server's own state, which no grant may reach: the data directory,
/// the database file and the secret key (each `None` when there is none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtectedPaths {
    /// The data directory (refused, with everything inside and every directory above it).
    pub data_dir: Option<PathBuf>,
    /// The SQLite database file (every directory holding it is refused).
    pub database: Option<PathBuf>,
    /// The secret key file (every directory holding it is refused).
    pub secret_key: Option<PathBuf>,
}

/// A directory grant as checked: where it really is on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckedGrant {
    /// The path the manifest names.
    pub(crate) requested: PathBuf,
    /// That path canonicalised when it was checked.
    pub(crate) canonical: PathBuf,
    /// Where the plugin sees it.
    pub(crate) guest: String,
    /// Read-write (else read-only).
    pub(crate) write: bool,
}

impl CheckedGrant {
    /// The canonical path again, refusing a grant whose path now resolves
    /// elsewhere (a symbolic link swapped since the check).
    pub(crate) fn recheck(&self) -> Result<&Path, String> {
        let now = std::fs::canonicalize(&self.requested).map_err(|e| format!("{} cannot be resolved: {e}", self.requested.display()))?;
        if now != self.canonical {
            return Err(format!(
                "{} now resolves to {}, not {} as when it was checked",
                self.requested.display(),
                now.display(),
                self.canonical.display()
            ));
        }
        Ok(&self.canonical)
    }
}

/// Checks every directory grant, naming `capabilities.directories[i]` in the error.
pub(crate) fn check_all(grants: &[DirectoryGrant], protected: &ProtectedPaths) -> Result<Vec<CheckedGrant>, ManifestError> {
    grants
        .iter()
        .enumerate()
        .map(|(i, grant)| {
            let canonical = check(Path::new(&grant.host), protected)
                .map_err(|message| ManifestError { field: format!("capabilities.directories[{i}]"), message })?;
            Ok(CheckedGrant { requested: PathBuf::from(&grant.host), canonical, guest: grant.guest.clone(), write: grant.write })
        })
        .collect()
}

/// Canonicalises `path` and refuses `/`, system directories and the
/// server's own state; the message says which rule refused it.
pub fn check(path: &Path, protected: &ProtectedPaths) -> Result<PathBuf, String> {
    let canonical = std::fs::canonicalize(path).map_err(|e| format!("{} cannot be resolved: {e}", path.display()))?;
    let shown = if canonical == path { path.display().to_string() } else { format!("{} (really {})", path.display(), canonical.display()) };
    if !canonical.is_dir() {
        return Err(format!("{shown} is not a directory"));
    }
    if canonical.parent().is_none() {
        return Err(format!("{shown} is the root directory; grant a directory made for the plugin"));
    }
    for system in SYSTEM_DIRECTORIES.iter().map(Path::new) {
        for form in [system.to_path_buf(), resolved(system)] {
            if canonical.starts_with(&form) || form.starts_with(&canonical) {
                return Err(format!("{shown} is or holds the system directory {}", form.display()));
            }
        }
    }
    if let Some(data) = &protected.data_dir {
        let data = resolved(data);
        if canonical.starts_with(&data) || data.starts_with(&canonical) {
            return Err(format!("{shown} is, is inside or holds the server's data directory {}", data.display()));
        }
    }
    for (what, file) in [("database", &protected.database), ("secret key", &protected.secret_key)] {
        if let Some(file) = file {
            let file = resolved(file);
            if file.starts_with(&canonical) {
                return Err(format!("{shown} holds the server's {what} {}", file.display()));
            }
        }
    }
    Ok(canonical)
}

/// `path` canonicalised, or made absolute with `.` and `..` resolved by
/// hand where it does not exist (yet).
fn resolved(path: &Path) -> PathBuf {
    if let Ok(canonical) = std::fs::canonicalize(path) {
        return canonical;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(path: &Path, protected: &ProtectedPaths) -> String {
        check(path, protected).expect_err(&format!("{} must be refused", path.display()))
    }

    #[test]
    fn root_and_system_directories_are_refused_also_through_dot_dot() {
        let none = ProtectedPaths::default();
        assert!(refused(Path::new("/"), &none).contains("root directory"));
        for path in ["/etc", "/proc", "/proc/self", "/sys", "/dev", "/usr/share", "/var", "/var/lib", "/tmp/../../etc"] {
            assert!(refused(Path::new(path), &none).contains("system directory"), "{path}");
        }
        assert!(refused(Path::new("/no/such/dir/here"), &none).contains("cannot be resolved"));
    }

    #[test]
    fn the_data_directory_database_and_key_are_refused_also_through_a_symlink() {
        let root = tempfile::tempdir().expect("temp");
        let data = root.path().join("data");
        let files = root.path().join("files");
        std::fs::create_dir_all(data.join("plugin-cache")).expect("mkdir");
        std::fs::create_dir_all(&files).expect("mkdir");
        let elsewhere = tempfile::tempdir().expect("temp");
        let db = elsewhere.path().join("switchboard.db");
        std::fs::write(&db, "").expect("db");
        let protected = ProtectedPaths { data_dir: Some(data.clone()), database: Some(db), secret_key: Some(data.join("secret.key")) };
        assert_eq!(check(&files, &protected).expect("a plain directory"), std::fs::canonicalize(&files).expect("canon"));
        assert!(refused(&data, &protected).contains("data directory"));
        assert!(refused(&data.join("plugin-cache"), &protected).contains("data directory"));
        assert!(refused(root.path(), &protected).contains("data directory"), "a directory holding the data dir");
        assert!(refused(&files.join("..").join("data"), &protected).contains("data directory"));
        assert!(refused(elsewhere.path(), &protected).contains("database"));
        let link = root.path().join("innocent");
        std::os::unix::fs::symlink(&data, &link).expect("symlink");
        let message = refused(&link, &protected);
        assert!(message.contains("really") && message.contains("data directory"), "{message}");
        let file = files.join("a.txt");
        std::fs::write(&file, "x").expect("file");
        assert!(refused(&file, &protected).contains("not a directory"));
    }

    #[test]
    fn a_swapped_symlink_fails_the_recheck() {
        let root = tempfile::tempdir().expect("temp");
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        std::fs::create_dir_all(&a).expect("a");
        std::fs::create_dir_all(&b).expect("b");
        let link = root.path().join("grant");
        std::os::unix::fs::symlink(&a, &link).expect("symlink");
        let grants = [DirectoryGrant { host: link.display().to_string(), guest: "/data".into(), write: false }];
        let checked = check_all(&grants, &ProtectedPaths::default()).expect("fine");
        assert!(checked[0].recheck().is_ok());
        std::fs::remove_file(&link).expect("rm");
        std::os::unix::fs::symlink(&b, &link).expect("symlink");
        assert!(checked[0].recheck().expect_err("swapped").contains("now resolves"));
        let bad = [DirectoryGrant { host: "/".into(), guest: "/".into(), write: true }];
        assert_eq!(check_all(&bad, &ProtectedPaths::default()).expect_err("root").field, "capabilities.directories[0]");
    }
}
