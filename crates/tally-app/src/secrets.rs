//! Secrets: random tokens, their hashes, and keyed hashes of personal data.
//!
//! Tokens are high-entropy, so a plain SHA-256 is enough to store them and lookups stay
//! cheap; passwords, chosen by people, get Argon2. Comparisons are constant-time.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tally_core::ids::base62_128;

/// A new random token of `blocks` × 22 base62 characters (128 bits each).
pub fn random_token(blocks: usize) -> String {
    let mut rng = rand::rng();
    (0..blocks).map(|_| base62_128(rng.random())).collect()
}

/// 128 fresh random bits.
pub fn random_u128() -> u128 {
    rand::rng().random()
}

/// SHA-256 of a token, hex.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Compares a presented token with a stored hash in constant time.
pub fn token_matches(presented: &str, stored_hash: &str) -> bool {
    token_hash(presented).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// Hashes a password with Argon2id and a fresh salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt_bytes: [u8; 16] = rand::rng().random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|error| error.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| error.to_string())
}

/// Checks a password against an Argon2 PHC string.
pub fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|hash| argon2::Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
        .unwrap_or(false)
}

/// The server's keyed hash (HMAC-SHA256) for personal data such as IP addresses, and
/// for signing cookies. The key lives in the store, so every node shares it.
#[derive(Clone)]
pub struct Keyed {
    /// HMAC with the key already absorbed: each use clones it instead of hashing the
    /// key's two pads again (half the work of a short MAC, twice per click).
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for Keyed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyed(..)")
    }
}

impl Keyed {
    /// Uses the given key.
    pub fn new(key: &str) -> Self {
        // Any key length is valid for HMAC.
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
            .unwrap_or_else(|_| unreachable!("hmac takes keys of any length"));
        Keyed { keyed }
    }

    fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        // The purpose separates uses of the one key, so an IP hash can never pass as a
        // cookie signature.
        let mut mac = self.keyed.clone();
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// A keyed hash of an IP address, hex, 128 bits.
    pub fn ip_hash(&self, address: &std::net::IpAddr) -> String {
        hex(&self.mac("ip", address.to_string().as_bytes())[..16])
    }

    /// The keyed hash of a customer's email digest (a lower-case SHA-1 or SHA-256 hex
    /// string), hex, 256 bits: the only form in which Tally keeps an email.
    pub fn email_hmac(&self, digest: &str) -> String {
        hex(&self.mac("email", digest.to_ascii_lowercase().as_bytes()))
    }

    /// The keyed hash of a dashboard login name, hex, 256 bits: the form in which failed
    /// logins are kept (names are often email addresses).
    pub fn login_name_key(&self, name: &str) -> String {
        hex(&self.mac("login", name.as_bytes()))
    }

    /// A cookie signature, 128 bits as base62.
    pub fn sign(&self, value: &str) -> String {
        let digest = self.mac("cookie", value.as_bytes());
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        base62_128(u128::from_be_bytes(first))
    }

    /// Checks a cookie signature in constant time.
    pub fn verify(&self, value: &str, signature: &str) -> bool {
        self.sign(value).as_bytes().ct_eq(signature.as_bytes()).into()
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_match_only_their_hash() {
        let token = random_token(2);
        assert_eq!(token.len(), 44);
        assert_ne!(token, random_token(2));
        assert!(token_matches(&token, &token_hash(&token)));
        assert!(!token_matches("other", &token_hash(&token)));
    }

    #[test]
    fn passwords_verify_with_argon2() {
        let stored = hash_password("correct horse").unwrap();
        assert!(password_matches("correct horse", &stored));
        assert!(!password_matches("wrong", &stored));
        assert!(!password_matches("x", "not a phc string"));
    }

    #[test]
    fn signatures_depend_on_key_and_value() {
        let keyed = Keyed::new("k1");
        let signature = keyed.sign("v");
        assert!(keyed.verify("v", &signature));
        assert!(!keyed.verify("w", &signature));
        assert!(!Keyed::new("k2").verify("v", &signature));
    }
}
