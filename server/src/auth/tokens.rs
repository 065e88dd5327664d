//! API tokens: `hale_` and 43 characters of URL-safe base64, 256 random
//! bits. Kept as their SHA-256: a token has too much entropy to be
//! guessed from its hash, so a fast hash is enough, and a lookup is one
//! indexed read.

use base64::Engine;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "hale_";

/// A new token, to be shown once.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// SHA-256, hex: how tokens (and session ids) are kept.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_kept_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), PREFIX.len() + 43, "{a}");
        assert_eq!(hash(&a).len(), 64);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
