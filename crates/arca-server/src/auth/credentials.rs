//! Passwords, token secrets and the brakes on guessing them.
//!
//! Passwords are argon2id PHC strings. Checking one costs tens of milliseconds on purpose, and
//! the `mlflow` client sends Basic credentials with every request, so a successful check is
//! remembered: by the SHA-256 of "username NUL password" together with the hash it matched.
//! The user's row is still read on every request, so a changed password, a deleted user or a
//! lost admin flag take effect at once, on every replica.
//!
//! Token and session secrets are 256 random bits: their SHA-256 is what is stored and looked
//! up (a slow hash adds nothing to a secret nobody can guess).
//!
//! Failed logins are counted per username, per client address and per pair, in a fixed window;
//! past the limit, attempts are refused without checking the password, so a guesser learns
//! nothing until the window ends.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt_bytes = *uuid::Uuid::new_v4().as_bytes();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| anyhow::anyhow!("encoding a password salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fresh secret for a token or session: 256 random bits, URL-safe, with a prefix that says
/// what it is (and lets secret scanners find leaked ones).
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    format!("{prefix}{}", hex::encode(bytes))
}

pub fn secret_sha256(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Passwords already checked against a given hash (see the module's doc).
#[derive(Default)]
pub struct VerifiedPasswords {
    seen: Mutex<HashMap<[u8; 32], String>>,
}

const VERIFIED_MAX: usize = 10_000;

impl VerifiedPasswords {
    fn key(username: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(username.as_bytes());
        h.update([0]);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    /// Whether `password` is the one `phc` was made from; argon2 runs only the first time.
    pub async fn check(&self, username: &str, password: &str, phc: &str) -> bool {
        let key = Self::key(username, password);
        if self
            .seen
            .lock()
            .unwrap()
            .get(&key)
            .is_some_and(|h| h == phc)
        {
            return true;
        }
        let (password_owned, phc_owned) = (password.to_owned(), phc.to_owned());
        let ok = tokio::task::spawn_blocking(move || verify_password(&password_owned, &phc_owned))
            .await
            .unwrap_or(false);
        if ok {
            let mut seen = self.seen.lock().unwrap();
            if seen.len() >= VERIFIED_MAX {
                seen.clear();
            }
            seen.insert(key, phc.to_owned());
        }
        ok
    }
}

/// Failed-login counters.
pub struct LoginLimiter {
    window: Duration,
    per_pair: u32,
    per_user: u32,
    per_addr: u32,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter {
            window: Duration::from_secs(60),
            per_pair: 5,
            per_user: 20,
            per_addr: 50,
            counts: Mutex::new(HashMap::new()),
        }
    }
}

/// A counter's key and how to read its limit.
type Counter = (String, fn(&LoginLimiter) -> u32);

impl LoginLimiter {
    fn keys(username: &str, addr: Option<IpAddr>) -> [Counter; 3] {
        let addr = addr.map(|a| a.to_string()).unwrap_or_default();
        [
            (format!("p\0{username}\0{addr}"), |l| l.per_pair),
            (format!("u\0{username}"), |l| l.per_user),
            (format!("a\0{addr}"), |l| l.per_addr),
        ]
    }

    /// Seconds until the caller may try again, when a limit is reached.
    pub fn blocked(&self, username: &str, addr: Option<IpAddr>) -> Option<u64> {
        let now = Instant::now();
        let counts = self.counts.lock().unwrap();
        Self::keys(username, addr)
            .iter()
            .filter_map(|(key, limit)| {
                let (start, n) = counts.get(key)?;
                let left = self.window.checked_sub(now.duration_since(*start))?;
                (*n >= limit(self)).then(|| left.as_secs().max(1))
            })
            .max()
    }

    pub fn failed(&self, username: &str, addr: Option<IpAddr>) {
        let now = Instant::now();
        let mut counts = self.counts.lock().unwrap();
        if counts.len() > 100_000 {
            counts.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        for (key, _) in Self::keys(username, addr) {
            let entry = counts.entry(key).or_insert((now, 0));
            if now.duration_since(entry.0) >= self.window {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }

    /// A successful login clears the pair's count (not the user's or the address's: a
    /// guesser who also knows one valid login must not reset the others).
    pub fn succeeded(&self, username: &str, addr: Option<IpAddr>) {
        let [(pair, _), _, _] = Self::keys(username, addr);
        self.counts.lock().unwrap().remove(&pair);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let phc = hash_password("s3cret!").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("s3cret!", &phc));
        assert!(!verify_password("s3cret", &phc));
        assert!(!verify_password("s3cret!", "not a hash"));
        assert_ne!(phc, hash_password("s3cret!").unwrap(), "salted");
    }

    #[test]
    fn secrets_are_long_random_and_hashed_to_hex() {
        let (a, b) = (new_secret("arca_"), new_secret("arca_"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 5 + 64);
        assert_eq!(secret_sha256(&a).len(), 64);
    }

    #[test]
    fn the_limiter_blocks_a_pair_after_five_failures_and_not_other_users() {
        let limiter = LoginLimiter::default();
        let addr: Option<IpAddr> = Some("10.0.0.1".parse().unwrap());
        for _ in 0..5 {
            assert_eq!(limiter.blocked("alice", addr), None);
            limiter.failed("alice", addr);
        }
        assert!(limiter.blocked("alice", addr).is_some());
        assert_eq!(limiter.blocked("bob", addr), None);
        assert_eq!(
            limiter.blocked("alice", Some("10.0.0.2".parse().unwrap())),
            None
        );
    }
}
