//! Durable store-and-forward queue on a single [redb] file.
//!
//! Every message bound for Mainflux (topic + rendered payload) is appended here *before*
//! it is published, and removed only after the broker acknowledged it (MQTT PUBACK).
//! Delivery is therefore at-least-once: a message is lost only when it is dropped on
//! purpose by the size bound, and it is duplicated only if it was published but its
//! acknowledgement had not been committed when the process stopped.
//!
//! # Ordering
//!
//! The queue is one global FIFO keyed by a sequence number. Global order implies
//! per-device order, which is the guarantee the exporter documents; it is simpler and
//! cheaper than per-device lanes, at the price that one device's backlog delays others.
//!
//! # On-disk format (schema version 1)
//!
//! Two tables in one redb database:
//!
//! * `items`: `u64 -> &[u8]`. The key is the sequence number; the value is a record:
//!
//!   | bytes | field |
//!   |---|---|
//!   | 1 | record version, `1` |
//!   | 8 | enqueue time, Unix milliseconds, little endian |
//!   | 4 | number of EdgeX readings carried, little endian |
//!   | 2 | topic length `L`, little endian |
//!   | `L` | MQTT topic, UTF-8 |
//!   | rest | payload bytes as published |
//!
//! * `meta`: `&str -> u64` with `schema_version` (= 1), `next_seq`, `len`, `bytes` and
//!   `dropped_total`.
//!
//! # Invariants
//!
//! 1. Every key in `items` is `< next_seq`; `next_seq` never decreases, so sequence numbers
//!    are never reused, not even after the queue ran empty or the process restarted.
//! 2. `len` equals the number of rows in `items`; `bytes` equals the sum over rows of
//!    `8 + value length` (the *accounted size*); both are updated in the same transaction
//!    as the rows, so they can never disagree with the table after a crash.
//! 3. `bytes <= MaxBytes` after every committed append: an append that would exceed the
//!    bound removes the oldest rows first (counted in `dropped_total` and logged). A single
//!    record larger than `MaxBytes` is refused and counted as dropped.
//! 4. Appends and acknowledgements commit with [`Durability::Immediate`] (fsync): once
//!    [`Queue::append`] returns, the items survive `kill -9` and power loss. Callers batch
//!    appends (group commit) to amortise the fsync.
//!
//! `MaxBytes` bounds the accounted size, not the file size: redb adds B-tree pages and keeps
//! freed pages for reuse, so the file is larger than `bytes` and does not shrink.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};

const ITEMS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("items");
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

const SCHEMA_VERSION: u64 = 1;
const RECORD_VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 8 + 4 + 2;
/// Accounted overhead per row: the `u64` key.
const KEY_LEN: u64 = 8;

/// Errors of the durable queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The database file could not be opened, read or written.
    #[error("store-and-forward database {path}: {source}")]
    Storage {
        /// Database file.
        path: PathBuf,
        /// Underlying redb error.
        #[source]
        source: Box<redb::Error>,
    },
    /// The file was written by an incompatible version of this exporter.
    #[error(
        "store-and-forward database {path} has schema version {found}, this build reads version {SCHEMA_VERSION}"
    )]
    UnsupportedSchema {
        /// Database file.
        path: PathBuf,
        /// Version found in the file.
        found: u64,
    },
    /// A stored record could not be decoded.
    #[error("store-and-forward database {path}: record {seq} is corrupt: {reason}")]
    CorruptRecord {
        /// Database file.
        path: PathBuf,
        /// Sequence number of the record.
        seq: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A topic longer than 65535 bytes cannot be stored.
    #[error("topic of {0} bytes is too long to store")]
    TopicTooLong(usize),
}

/// A message to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    /// MQTT topic to publish on.
    pub topic: String,
    /// Payload bytes as they will be published.
    pub payload: Vec<u8>,
    /// Number of EdgeX readings carried (for metrics).
    pub readings: u32,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    /// Sequence number, unique and increasing in append order.
    pub seq: u64,
    /// Enqueue time, Unix milliseconds.
    pub enqueued_ms: u64,
    /// Number of EdgeX readings carried.
    pub readings: u32,
    /// MQTT topic.
    pub topic: String,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

/// Outcome of an append.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Sequence numbers assigned to the stored items, in input order.
    pub stored: Vec<u64>,
    /// Items refused because a single record exceeds `MaxBytes`.
    pub refused: u64,
    /// Older items removed to stay within `MaxBytes`.
    pub dropped_oldest: u64,
}

/// Counters of the queue. All monotonic except `queued`/`queued_bytes`.
#[derive(Debug, Default)]
pub struct QueueMetrics {
    /// Items currently stored.
    pub queued: AtomicU64,
    /// Accounted bytes currently stored.
    pub queued_bytes: AtomicU64,
    /// Readings currently stored.
    pub queued_readings: AtomicU64,
    /// Items appended since start.
    pub appended: AtomicU64,
    /// Items acknowledged by the broker and removed, since start.
    pub sent: AtomicU64,
    /// Readings acknowledged by the broker, since start.
    pub sent_readings: AtomicU64,
    /// Items dropped by the size bound since start (persisted total is in the file).
    pub dropped: AtomicU64,
    /// Items published again after a reconnect, since start.
    pub retries: AtomicU64,
}

#[derive(Debug)]
struct Counters {
    next_seq: u64,
    len: u64,
    bytes: u64,
    dropped_total: u64,
}

/// The durable FIFO. Methods are blocking (redb is synchronous): call them from
/// `spawn_blocking` or a dedicated thread. One writer at a time is enforced internally.
#[derive(Debug)]
pub struct Queue {
    db: Database,
    path: PathBuf,
    max_bytes: u64,
    counters: Mutex<Counters>,
    metrics: std::sync::Arc<QueueMetrics>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn encode(item: &NewItem, enqueued_ms: u64) -> Result<Vec<u8>, QueueError> {
    let topic_len =
        u16::try_from(item.topic.len()).map_err(|_| QueueError::TopicTooLong(item.topic.len()))?;
    let mut v = Vec::with_capacity(HEADER_LEN + item.topic.len() + item.payload.len());
    v.push(RECORD_VERSION);
    v.extend_from_slice(&enqueued_ms.to_le_bytes());
    v.extend_from_slice(&item.readings.to_le_bytes());
    v.extend_from_slice(&topic_len.to_le_bytes());
    v.extend_from_slice(item.topic.as_bytes());
    v.extend_from_slice(&item.payload);
    Ok(v)
}

fn decode(seq: u64, raw: &[u8]) -> Result<QueueItem, &'static str> {
    if raw.len() < HEADER_LEN {
        return Err("shorter than the record header");
    }
    if raw[0] != RECORD_VERSION {
        return Err("unknown record version");
    }
    let le8 = |b: &[u8]| {
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        u64::from_le_bytes(a)
    };
    let enqueued_ms = le8(&raw[1..9]);
    let readings = u32::from_le_bytes([raw[9], raw[10], raw[11], raw[12]]);
    let topic_len = u16::from_le_bytes([raw[13], raw[14]]) as usize;
    let rest = &raw[HEADER_LEN..];
    if rest.len() < topic_len {
        return Err("topic runs past the end of the record");
    }
    let topic = std::str::from_utf8(&rest[..topic_len])
        .map_err(|_| "topic is not UTF-8")?
        .to_owned();
    Ok(QueueItem {
        seq,
        enqueued_ms,
        readings,
        topic,
        payload: rest[topic_len..].to_vec(),
    })
}

fn readings_of(raw: &[u8]) -> u64 {
    if raw.len() < HEADER_LEN {
        return 0;
    }
    u64::from(u32::from_le_bytes([raw[9], raw[10], raw[11], raw[12]]))
}

impl Queue {
    /// Opens (or creates) the queue file at `path`, bounded by `max_bytes` of accounted size.
    pub fn open(path: impl AsRef<Path>, max_bytes: u64) -> Result<Self, QueueError> {
        let path = path.as_ref().to_path_buf();
        let storage = |e: redb::Error| QueueError::Storage {
            path: path.clone(),
            source: Box::new(e),
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| storage(redb::StorageError::Io(e).into()))?;
        }
        let db = Database::create(&path).map_err(|e| storage(e.into()))?;
        let counters = {
            let txn = db.begin_write().map_err(|e| storage(e.into()))?;
            let counters = {
                let mut meta = txn.open_table(META).map_err(|e| storage(e.into()))?;
                let items = txn.open_table(ITEMS).map_err(|e| storage(e.into()))?;
                let get = |k: &str| -> Result<Option<u64>, redb::Error> {
                    Ok(meta.get(k)?.map(|g| g.value()))
                };
                match get("schema_version").map_err(storage)? {
                    Some(SCHEMA_VERSION) => {}
                    Some(found) => {
                        return Err(QueueError::UnsupportedSchema { path, found });
                    }
                    None => {
                        if !items.is_empty().map_err(|e| storage(e.into()))? {
                            return Err(QueueError::UnsupportedSchema { path, found: 0 });
                        }
                    }
                }
                let c = Counters {
                    next_seq: get("next_seq").map_err(storage)?.unwrap_or(1),
                    len: get("len").map_err(storage)?.unwrap_or(0),
                    bytes: get("bytes").map_err(storage)?.unwrap_or(0),
                    dropped_total: get("dropped_total").map_err(storage)?.unwrap_or(0),
                };
                meta.insert("schema_version", SCHEMA_VERSION)
                    .map_err(|e| storage(e.into()))?;
                c
            };
            txn.commit().map_err(|e| storage(e.into()))?;
            counters
        };
        let metrics = std::sync::Arc::new(QueueMetrics::default());
        metrics.queued.store(counters.len, Ordering::Relaxed);
        metrics
            .queued_bytes
            .store(counters.bytes, Ordering::Relaxed);
        let queue = Self {
            db,
            path,
            max_bytes,
            counters: Mutex::new(counters),
            metrics,
        };
        let readings = queue.count_readings()?;
        queue
            .metrics
            .queued_readings
            .store(readings, Ordering::Relaxed);
        Ok(queue)
    }

    fn storage(&self, e: impl Into<redb::Error>) -> QueueError {
        QueueError::Storage {
            path: self.path.clone(),
            source: Box::new(e.into()),
        }
    }

    fn count_readings(&self) -> Result<u64, QueueError> {
        let txn = self.db.begin_read().map_err(|e| self.storage(e))?;
        let items = txn.open_table(ITEMS).map_err(|e| self.storage(e))?;
        let mut n = 0;
        for row in items.iter().map_err(|e| self.storage(e))? {
            let (_, v) = row.map_err(|e| self.storage(e))?;
            n += readings_of(v.value());
        }
        Ok(n)
    }

    /// Shared counters (cheap to clone and read from any thread).
    pub fn metrics(&self) -> std::sync::Arc<QueueMetrics> {
        self.metrics.clone()
    }

    /// The accounted-size bound.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Items dropped by the size bound over the whole life of the file.
    pub fn dropped_total(&self) -> u64 {
        self.lock().dropped_total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        // A panic while holding the lock cannot leave the counters half-updated relative to
        // the file: they are only assigned after a successful commit.
        self.counters.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `items` in one durable transaction (group commit) and returns their sequence
    /// numbers. Oldest items are dropped first when the bound is exceeded.
    pub fn append(&self, items: &[NewItem]) -> Result<AppendOutcome, QueueError> {
        let now = now_ms();
        let mut encoded = Vec::with_capacity(items.len());
        let mut outcome = AppendOutcome::default();
        for item in items {
            let rec = encode(item, now)?;
            if rec.len() as u64 + KEY_LEN > self.max_bytes {
                outcome.refused += 1;
                tracing::warn!(
                    topic = %item.topic,
                    size = rec.len(),
                    max_bytes = self.max_bytes,
                    "Message larger than StoreAndForward.MaxBytes dropped."
                );
                continue;
            }
            encoded.push((rec, item.readings));
        }
        if encoded.is_empty() {
            if outcome.refused > 0 {
                let mut c = self.lock();
                c.dropped_total += outcome.refused;
                self.metrics
                    .dropped
                    .fetch_add(outcome.refused, Ordering::Relaxed);
            }
            return Ok(outcome);
        }
        let mut c = self.lock();
        let mut next_seq = c.next_seq;
        let mut len = c.len;
        let mut bytes = c.bytes;
        let mut dropped_readings = 0u64;
        let mut txn = self.db.begin_write().map_err(|e| self.storage(e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| self.storage(redb::Error::from(e)))?;
        {
            let mut table = txn.open_table(ITEMS).map_err(|e| self.storage(e))?;
            for (rec, _) in &encoded {
                table
                    .insert(next_seq, rec.as_slice())
                    .map_err(|e| self.storage(e))?;
                outcome.stored.push(next_seq);
                next_seq += 1;
                len += 1;
                bytes += rec.len() as u64 + KEY_LEN;
            }
            while bytes > self.max_bytes {
                let Some((_, v)) = table.pop_first().map_err(|e| self.storage(e))? else {
                    break;
                };
                let v = v.value();
                bytes -= v.len() as u64 + KEY_LEN;
                dropped_readings += readings_of(v);
                len -= 1;
                outcome.dropped_oldest += 1;
            }
            let mut meta = txn.open_table(META).map_err(|e| self.storage(e))?;
            let dropped_total = c.dropped_total + outcome.dropped_oldest + outcome.refused;
            for (k, v) in [
                ("next_seq", next_seq),
                ("len", len),
                ("bytes", bytes),
                ("dropped_total", dropped_total),
            ] {
                meta.insert(k, v).map_err(|e| self.storage(e))?;
            }
        }
        txn.commit().map_err(|e| self.storage(e))?;
        c.next_seq = next_seq;
        c.len = len;
        c.bytes = bytes;
        c.dropped_total += outcome.dropped_oldest + outcome.refused;
        drop(c);
        let added_readings: u64 = encoded.iter().map(|(_, r)| u64::from(*r)).sum();
        let m = &self.metrics;
        m.queued.store(len, Ordering::Relaxed);
        m.queued_bytes.store(bytes, Ordering::Relaxed);
        m.queued_readings
            .fetch_add(added_readings, Ordering::Relaxed);
        m.queued_readings.fetch_sub(
            dropped_readings.min(m.queued_readings.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        m.appended
            .fetch_add(outcome.stored.len() as u64, Ordering::Relaxed);
        m.dropped
            .fetch_add(outcome.dropped_oldest + outcome.refused, Ordering::Relaxed);
        if outcome.dropped_oldest > 0 {
            tracing::warn!(
                dropped = outcome.dropped_oldest,
                max_bytes = self.max_bytes,
                "Store-and-forward queue full: oldest messages dropped."
            );
        }
        Ok(outcome)
    }

    /// Up to `max` items with a sequence number greater than `after` (all items when `None`),
    /// oldest first. Does not remove anything.
    pub fn peek(&self, after: Option<u64>, max: usize) -> Result<Vec<QueueItem>, QueueError> {
        let start = match after {
            Some(s) => match s.checked_add(1) {
                Some(s) => s,
                None => return Ok(Vec::new()),
            },
            None => 0,
        };
        let txn = self.db.begin_read().map_err(|e| self.storage(e))?;
        let table = txn.open_table(ITEMS).map_err(|e| self.storage(e))?;
        let mut out = Vec::with_capacity(max.min(1024));
        for row in table.range(start..).map_err(|e| self.storage(e))?.take(max) {
            let (k, v) = row.map_err(|e| self.storage(e))?;
            let seq = k.value();
            let item = decode(seq, v.value()).map_err(|reason| QueueError::CorruptRecord {
                path: self.path.clone(),
                seq,
                reason,
            })?;
            out.push(item);
        }
        Ok(out)
    }

    /// Removes acknowledged items in one durable transaction. Unknown sequence numbers (for
    /// example items already dropped by the bound) are ignored. Returns how many were removed.
    pub fn ack(&self, seqs: &[u64]) -> Result<u64, QueueError> {
        if seqs.is_empty() {
            return Ok(0);
        }
        let mut c = self.lock();
        let mut len = c.len;
        let mut bytes = c.bytes;
        let mut removed = 0u64;
        let mut readings = 0u64;
        let mut txn = self.db.begin_write().map_err(|e| self.storage(e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| self.storage(redb::Error::from(e)))?;
        {
            let mut table = txn.open_table(ITEMS).map_err(|e| self.storage(e))?;
            for &seq in seqs {
                if let Some(v) = table.remove(seq).map_err(|e| self.storage(e))? {
                    let v = v.value();
                    bytes -= v.len() as u64 + KEY_LEN;
                    readings += readings_of(v);
                    len -= 1;
                    removed += 1;
                }
            }
            let mut meta = txn.open_table(META).map_err(|e| self.storage(e))?;
            meta.insert("len", len).map_err(|e| self.storage(e))?;
            meta.insert("bytes", bytes).map_err(|e| self.storage(e))?;
        }
        txn.commit().map_err(|e| self.storage(e))?;
        c.len = len;
        c.bytes = bytes;
        drop(c);
        let m = &self.metrics;
        m.queued.store(len, Ordering::Relaxed);
        m.queued_bytes.store(bytes, Ordering::Relaxed);
        m.queued_readings.fetch_sub(
            readings.min(m.queued_readings.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        m.sent.fetch_add(removed, Ordering::Relaxed);
        m.sent_readings.fetch_add(readings, Ordering::Relaxed);
        Ok(removed)
    }

    /// Number of stored items.
    pub fn len(&self) -> u64 {
        self.lock().len
    }

    /// Whether the queue holds no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Accounted bytes stored.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// Age of the oldest stored item, `None` when empty.
    pub fn oldest_age(&self) -> Result<Option<Duration>, QueueError> {
        let txn = self.db.begin_read().map_err(|e| self.storage(e))?;
        let table = txn.open_table(ITEMS).map_err(|e| self.storage(e))?;
        let Some((_, v)) = table.first().map_err(|e| self.storage(e))? else {
            return Ok(None);
        };
        let v = v.value();
        if v.len() < HEADER_LEN {
            return Ok(None);
        }
        let mut a = [0u8; 8];
        a.copy_from_slice(&v[1..9]);
        Ok(Some(Duration::from_millis(
            now_ms().saturating_sub(u64::from_le_bytes(a)),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    fn item(topic: &str, payload: &[u8], readings: u32) -> NewItem {
        NewItem {
            topic: topic.into(),
            payload: payload.to_vec(),
            readings,
        }
    }

    #[test]
    fn appended_items_come_back_in_order_with_increasing_sequence_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(dir.path().join("q.redb"), 1 << 20).unwrap();
        let out = q
            .append(&[
                item("channels/c/messages/a", b"1", 1),
                item("channels/c/messages/b", b"22", 2),
            ])
            .unwrap();
        assert_eq!(out.stored, vec![1, 2]);
        let items = q.peek(None, 10).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].topic, "channels/c/messages/a");
        assert_eq!(items[1].payload, b"22");
        assert_eq!(items[1].readings, 2);
        assert_eq!(q.peek(Some(1), 10).unwrap().len(), 1);
        assert_eq!(q.metrics().queued_readings.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn sequence_numbers_are_not_reused_after_the_queue_ran_empty_and_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.redb");
        {
            let q = Queue::open(&path, 1 << 20).unwrap();
            let out = q.append(&[item("t", b"x", 1)]).unwrap();
            q.ack(&out.stored).unwrap();
            assert!(q.is_empty());
        }
        let q = Queue::open(&path, 1 << 20).unwrap();
        assert_eq!(q.append(&[item("t", b"y", 1)]).unwrap().stored, vec![2]);
    }

    #[test]
    fn a_full_queue_drops_the_oldest_items_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let rec = (HEADER_LEN + 1 + 10) as u64 + KEY_LEN;
        let q = Queue::open(dir.path().join("q.redb"), rec * 3).unwrap();
        for i in 0..5u8 {
            q.append(&[item("t", &[i; 10], 1)]).unwrap();
        }
        let items = q.peek(None, 10).unwrap();
        assert_eq!(
            items.iter().map(|i| i.payload[0]).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        assert_eq!(q.dropped_total(), 2);
        assert_eq!(q.metrics().dropped.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_record_larger_than_the_bound_is_refused_without_evicting_others() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(dir.path().join("q.redb"), 100).unwrap();
        q.append(&[item("t", b"small", 1)]).unwrap();
        let out = q.append(&[item("t", &[0; 200], 1)]).unwrap();
        assert_eq!(out.refused, 1);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn a_file_with_a_newer_schema_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert("schema_version", 9)
                .unwrap();
            txn.commit().unwrap();
        }
        let err = Queue::open(&path, 100).unwrap_err().to_string();
        assert!(err.contains("schema version 9"), "{err}");
    }

    #[test]
    fn oldest_age_is_reported_only_for_a_non_empty_queue() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(dir.path().join("q.redb"), 1 << 20).unwrap();
        assert_eq!(q.oldest_age().unwrap(), None);
        q.append(&[item("t", b"x", 1)]).unwrap();
        assert!(q.oldest_age().unwrap().is_some());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Append(Vec<usize>),
        Peek(usize, usize),
        AckFront(usize),
        AckEveryOther,
        Reopen,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => proptest::collection::vec(0usize..120, 1..6).prop_map(Op::Append),
            2 => (0usize..20, 1usize..10).prop_map(|(s, n)| Op::Peek(s, n)),
            2 => (0usize..5).prop_map(Op::AckFront),
            1 => Just(Op::AckEveryOther),
            1 => Just(Op::Reopen),
        ]
    }

    /// Reference model: a VecDeque of (seq, payload) with the same size accounting.
    #[derive(Default)]
    struct Model {
        items: VecDeque<(u64, Vec<u8>)>,
        next_seq: u64,
        dropped: u64,
    }

    fn size(payload: &[u8]) -> u64 {
        (HEADER_LEN + 1 + payload.len()) as u64 + KEY_LEN
    }

    impl Model {
        fn bytes(&self) -> u64 {
            self.items.iter().map(|(_, p)| size(p)).sum()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn queue_behaves_like_a_bounded_fifo_model(ops in proptest::collection::vec(op(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("q.redb");
            let max = 600u64;
            let mut q = Queue::open(&path, max).unwrap();
            let mut m = Model { next_seq: 1, ..Model::default() };
            let mut counter = 0u8;
            for op in ops {
                match op {
                    Op::Append(sizes) => {
                        let items: Vec<NewItem> = sizes.iter().map(|&s| {
                            counter = counter.wrapping_add(1);
                            item("t", &vec![counter; s], 1)
                        }).collect();
                        q.append(&items).unwrap();
                        for it in items {
                            if size(&it.payload) > max { m.dropped += 1; continue; }
                            m.items.push_back((m.next_seq, it.payload));
                            m.next_seq += 1;
                        }
                        while m.bytes() > max {
                            m.items.pop_front();
                            m.dropped += 1;
                        }
                    }
                    Op::Peek(skip, n) => {
                        let after = m.items.get(skip).map(|(s, _)| *s);
                        let got = q.peek(after, n).unwrap();
                        let want: Vec<(u64, Vec<u8>)> = m.items.iter()
                            .filter(|(s, _)| after.is_none_or(|a| *s > a))
                            .take(n).cloned().collect();
                        let got: Vec<(u64, Vec<u8>)> = got.into_iter().map(|i| (i.seq, i.payload)).collect();
                        prop_assert_eq!(got, want);
                    }
                    Op::AckFront(k) => {
                        let seqs: Vec<u64> = m.items.iter().take(k).map(|(s, _)| *s).collect();
                        let removed = q.ack(&seqs).unwrap();
                        prop_assert_eq!(removed, seqs.len() as u64);
                        for _ in 0..seqs.len() { m.items.pop_front(); }
                    }
                    Op::AckEveryOther => {
                        let seqs: Vec<u64> = m.items.iter().step_by(2).map(|(s, _)| *s)
                            .chain([m.next_seq + 7]).collect();
                        q.ack(&seqs).unwrap();
                        m.items.retain(|(s, _)| !seqs.contains(s));
                    }
                    Op::Reopen => {
                        drop(q);
                        q = Queue::open(&path, max).unwrap();
                    }
                }
                prop_assert_eq!(q.len(), m.items.len() as u64);
                prop_assert_eq!(q.bytes(), m.bytes());
                prop_assert_eq!(q.dropped_total(), m.dropped);
                prop_assert!(q.bytes() <= max);
            }
            let all: Vec<u64> = q.peek(None, usize::MAX).unwrap().iter().map(|i| i.seq).collect();
            prop_assert_eq!(all, m.items.iter().map(|(s, _)| *s).collect::<Vec<_>>());
        }
    }
}
