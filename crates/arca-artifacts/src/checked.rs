//! Which local files have been hashed since they last changed, so that a download of one of
//! them need not hash it again.
//!
//! Hashing is most of what a download costs the server (51% of its CPU in `perf`), and a model
//! is typically downloaded many times and changed never. What a first download proves, that the
//! bytes on disk match the recorded SHA-256, stays true until the file changes, and a change
//! through the filesystem shows in the file's metadata: the kernel sets `ctime` to the current
//! time on every write, truncate, rename or `chmod`, and no call lets a process set it back.
//! So each verified file is remembered by its *identity*, read with `fstat` from the very
//! handle the bytes were read from (not by path: a file replaced between a `stat` and an `open`
//! would otherwise be trusted on the old one's record): device, inode, size, `mtime` and
//! `ctime`. A later download whose handle shows the same identity, for the same expected
//! digest, is streamed without hashing; anything else is hashed as before.
//!
//! Two races are closed:
//!
//! - *A change in the same clock tick as the check.* Timestamps come from a clock that moves in
//!   ticks (a jiffy, up to 10 ms; whole seconds or two on some filesystems), so a write just
//!   after the file's last change could leave its `ctime` as it was. An identity is remembered
//!   only if its `ctime` was already [`settled`] when the verified read began: any write after
//!   that is stamped later, and so changes the identity.
//! - *A change while the file streams.* The trusted stream holds its last chunk back, asks the
//!   handle for its identity again at the end, and fails the download if it moved, as a hash
//!   mismatch would; a hashed read is remembered only if the identity did not move during it.
//!
//! What this does not see, and `--verify-downloads always` does: a change that bypasses the
//! filesystem (media corruption, a write to the block device), or a store shared with a writer
//! that alters a page it has mapped and already dirtied, which the kernel does not stamp again.
//!
//! The memory is bounded ([`REMEMBERED`] files) and in this process only: after a restart every
//! file is hashed on its first download again. Remote stores are always hashed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Files remembered at most (about 100 bytes each). Past it an arbitrary one is forgotten; that
/// costs one more hash of it, never a wrong answer.
const REMEMBERED: usize = 65_536;

/// How downloads with a recorded digest are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verification {
    /// Hash every download.
    Always,
    /// Hash a local file on its first download, and again only once it has changed.
    #[default]
    Changed,
}

/// Downloads checked against their recorded digest since start, by how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DownloadChecks {
    /// Hashed while streaming.
    pub hashed: u64,
    /// Streamed unhashed: the file was verified before and has not changed since.
    pub trusted: u64,
}

/// What `fstat` says of an open file: enough to tell that its bytes changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Identity {
    #[cfg(unix)]
    pub(crate) fn of(meta: &std::fs::Metadata) -> Option<Identity> {
        use std::os::unix::fs::MetadataExt;
        Some(Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })
    }

    #[cfg(not(unix))]
    pub(crate) fn of(_meta: &std::fs::Metadata) -> Option<Identity> {
        None
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Whether the last change is far enough before `instant` that any later write is stamped
    /// with a later `ctime`. A timestamp in whole milliseconds is taken for a coarse filesystem
    /// (FAT keeps 2 s, ext4 with small inodes 1 s); a fine one still lags the clock by a tick.
    pub(crate) fn settled(&self, instant: SystemTime) -> bool {
        let (secs, nanos) = self.ctime;
        let Ok(secs) = u64::try_from(secs) else {
            return false;
        };
        let nanos = u32::try_from(nanos).unwrap_or(0);
        let margin = if nanos % 1_000_000 == 0 {
            Duration::from_secs(2)
        } else {
            Duration::from_millis(20)
        };
        let changed = UNIX_EPOCH + Duration::new(secs, nanos);
        changed + margin <= instant
    }
}

/// A file's identity and the SHA-256 its bytes were verified to have, by (device, inode).
type Seen = HashMap<(u64, u64), (Identity, [u8; 32])>;

/// The files verified since start, and the counters.
pub(crate) struct Checked {
    pub(crate) mode: Verification,
    seen: Mutex<Seen>,
    hashed: AtomicU64,
    trusted: AtomicU64,
}

impl Checked {
    pub(crate) fn new(mode: Verification) -> Checked {
        Checked {
            mode,
            seen: Mutex::default(),
            hashed: AtomicU64::new(0),
            trusted: AtomicU64::new(0),
        }
    }

    /// Whether the file with `identity` was verified to hold `sha256` and has not changed.
    pub(crate) fn trusts(&self, identity: &Identity, sha256: &str) -> bool {
        if self.mode == Verification::Always {
            return false;
        }
        let Some(sha256) = decode(sha256) else {
            return false;
        };
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(&(identity.dev, identity.ino))
            .is_some_and(|(known, digest)| known == identity && *digest == sha256)
    }

    /// Remembers that the file with `identity` holds `sha256`.
    pub(crate) fn remember(&self, identity: Identity, sha256: &str) {
        if self.mode == Verification::Always {
            return;
        }
        let Some(sha256) = decode(sha256) else {
            return;
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= REMEMBERED
            && let Some(evicted) = seen.keys().next().copied()
        {
            seen.remove(&evicted);
        }
        seen.insert((identity.dev, identity.ino), (identity, sha256));
    }

    /// Forgets the file with `identity`, whose bytes did not hold what was remembered.
    pub(crate) fn forget(&self, identity: &Identity) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.remove(&(identity.dev, identity.ino));
    }

    pub(crate) fn count_hashed(&self) {
        self.hashed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_trusted(&self) {
        self.trusted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn counts(&self) -> DownloadChecks {
        DownloadChecks {
            hashed: self.hashed.load(Ordering::Relaxed),
            trusted: self.trusted.load(Ordering::Relaxed),
        }
    }
}

fn decode(sha256: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(sha256, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed_at(secs: i64, nanos: i64) -> Identity {
        Identity {
            dev: 1,
            ino: 2,
            size: 3,
            mtime: (secs, nanos),
            ctime: (secs, nanos),
        }
    }

    #[test]
    fn a_change_is_settled_one_clock_tick_later_or_two_seconds_on_a_coarse_clock() {
        let at = |secs: u64, millis: u64| UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis);
        let fine = changed_at(1000, 123_456_789);
        assert!(!fine.settled(at(1000, 123)));
        assert!(!fine.settled(at(1000, 140)));
        assert!(fine.settled(at(1000, 144)));
        let coarse = changed_at(1000, 0);
        assert!(!coarse.settled(at(1001, 999)));
        assert!(coarse.settled(at(1002, 0)));
        assert!(!changed_at(-1, 0).settled(at(5000, 0)));
    }

    #[test]
    fn memory_is_bounded_and_keyed_by_the_file_not_the_path() {
        let checked = Checked::new(Verification::Changed);
        let sha = "ab".repeat(32);
        for ino in 0..(REMEMBERED as u64 + 10) {
            let identity = Identity {
                ino,
                ..changed_at(1, 1)
            };
            checked.remember(identity, &sha);
        }
        assert_eq!(checked.seen.lock().unwrap().len(), REMEMBERED);
        let last = Identity {
            ino: REMEMBERED as u64 + 9,
            ..changed_at(1, 1)
        };
        assert!(checked.trusts(&last, &sha));
        assert!(!checked.trusts(&Identity { size: 4, ..last }, &sha));
        assert!(!checked.trusts(&last, &"cd".repeat(32)));
        checked.forget(&last);
        assert!(!checked.trusts(&last, &sha));
    }
}
