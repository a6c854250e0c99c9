//! Files that hold private keys: written readable by their owner only (mode 0600, set
//! when the file is created, so no other user ever sees it readable), and refused at
//! load when group or others may read them — the way OpenSSH treats its identity files.
//! A key that others could have read must be treated as disclosed; refusing to start
//! makes the operator notice rather than run on it.

use std::path::Path;

use crate::PkiError;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `contents` to a key file that only its owner can read or write (replacing
/// the file if it exists, whatever its mode was).
pub fn write_secret(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), PkiError> {
    use std::io::Write as _;
    // A fresh file, never an old one whose mode others can read: remove, then create
    // exclusively with the mode already set.
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(path)(e)),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(contents.as_ref()).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Refuses a key file that group or others may read or write.
pub fn check_secret_permissions(path: &Path) -> Result<(), PkiError> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(PkiError::ExposedKey {
                path: path.display().to_string(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(())
}

/// Reads a key file, refusing it when group or others may read or write it.
pub fn read_secret(path: &Path) -> Result<Vec<u8>, PkiError> {
    check_secret_permissions(path)?;
    std::fs::read(path).map_err(io(path))
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn keys_are_written_owner_only_and_refused_when_others_can_read_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        write_secret(&path, b"secret").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(read_secret(&path).unwrap(), b"secret");

        for lax in [0o644, 0o640, 0o604, 0o620, 0o666] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(lax)).unwrap();
            let err = read_secret(&path).unwrap_err();
            assert!(
                matches!(err, PkiError::ExposedKey { mode, .. } if mode == lax),
                "{lax:o}: {err}"
            );
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
        // Owner-only modes stricter than 0600 are fine.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(read_secret(&path).unwrap(), b"secret");

        // Rewriting a lax file leaves it owner-only.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_secret(&path, b"other").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(read_secret(&path).unwrap(), b"other");

        assert!(matches!(
            read_secret(&dir.path().join("missing.key")),
            Err(PkiError::Io { .. })
        ));
    }
}
