//! Password hashes: argon2id with the `argon2` crate's defaults (19 MiB,
//! two passes, one lane: OWASP's recommended minimum), stored as PHC
//! strings, so better parameters later still verify older hashes.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::LazyLock;

/// The hash of a password no one has, checked when a sign-in names an
/// account that does not exist, so both take as long.
pub static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash("no account has this password"));

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`). Slow by design:
/// call it off the async threads.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

/// Whether `password` is the one `hash` was made from.
pub fn verify(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(error) => {
            tracing::error!(%error, "a stored password hash can't be read");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery");
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify(&stored, "correct horse battery"));
        assert!(!verify(&stored, "correct horse batterY"));
        assert_ne!(stored, hash("correct horse battery"), "salted");
        assert!(!verify("not a hash", "anything"));
    }
}
