//! Embedded store on redb: one database file under `Database.Path`, or redb's in-memory backend for tests.
//!
//! Metadata entities live in typed *collections* (JSON documents keyed by id, with a unique name index and
//! multimap secondary indexes). Events live in their own tables keyed by a monotonic sequence number with
//! ordered tuple indexes by origin, device and reading resource, so ingest is a handful of appends per event.
//! Events are stored as compact binary records ([`event_codec`]), prepared outside the write transaction
//! ([`PreparedEvent`]) so that the single writer only inserts keys. The event id index is keyed by
//! generation so that ingest stays local too ([`id_index`]).
//!
//! Invariant: every write method commits with `Durability::Immediate` (redb's default) before returning, so a
//! value acknowledged by an API survives `kill -9`.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use edgex_contracts::{Event, Reading};
use redb::{
    Database, MultimapTableDefinition, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition,
};
use serde_json::Value;

pub mod event_codec;
mod id_index;

use id_index::{EVENT_IDS, IdFilter};

/// Store failures, mapped onto EdgeX error kinds by the API layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No entity with that id/name.
    #[error("{0}")]
    NotFound(String),
    /// The name or id is already taken.
    #[error("{0}")]
    Duplicate(String),
    /// The entity is still referenced by another one.
    #[error("{0}")]
    Conflict(String),
    /// The database itself failed (I/O, corruption).
    #[error("database error: {0}")]
    Db(String),
}

macro_rules! db_err {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self { StoreError::Db(e.to_string()) }
        }
    )*};
}
db_err!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    serde_json::Error,
    event_codec::CorruptRecord
);

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// A secondary index: table name and the function extracting the index keys of a document.
#[derive(Debug, Clone, Copy)]
pub struct Index {
    /// redb multimap table name (`key -> id`).
    pub table: &'static str,
    /// Index keys of a document (may be empty).
    pub keys: fn(&Value) -> Vec<String>,
}

/// A typed collection of JSON documents with `id` and `name` string fields.
#[derive(Debug, Clone, Copy)]
pub struct Collection {
    /// Document table (`id -> JSON`).
    pub table: &'static str,
    /// Unique name index table (`name -> id`).
    pub names: &'static str,
    /// Secondary indexes.
    pub indexes: &'static [Index],
}

fn str_field(v: &Value, f: &str) -> Vec<String> {
    v.get(f)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| vec![s.to_string()])
        .unwrap_or_default()
}

/// Device services.
pub const DEVICE_SERVICES: Collection = Collection {
    table: "md_service",
    names: "md_service_name",
    indexes: &[],
};
/// Devices, indexed by owning service and profile.
pub const DEVICES: Collection = Collection {
    table: "md_device",
    names: "md_device_name",
    indexes: &[
        Index {
            table: "md_device_by_service",
            keys: |v| str_field(v, "serviceName"),
        },
        Index {
            table: "md_device_by_profile",
            keys: |v| str_field(v, "profileName"),
        },
    ],
};
/// Device profiles, indexed by manufacturer and model.
pub const PROFILES: Collection = Collection {
    table: "md_profile",
    names: "md_profile_name",
    indexes: &[
        Index {
            table: "md_profile_by_manufacturer",
            keys: |v| str_field(v, "manufacturer"),
        },
        Index {
            table: "md_profile_by_model",
            keys: |v| str_field(v, "model"),
        },
    ],
};
/// Provision watchers, indexed by service and discovered-device profile.
pub const WATCHERS: Collection = Collection {
    table: "md_watcher",
    names: "md_watcher_name",
    indexes: &[
        Index {
            table: "md_watcher_by_service",
            keys: |v| str_field(v, "serviceName"),
        },
        Index {
            table: "md_watcher_by_profile",
            keys: |v| {
                v.get("discoveredDevice")
                    .map(|d| str_field(d, "profileName"))
                    .unwrap_or_default()
            },
        },
    ],
};
/// core-keeper registrations (id = name = serviceId).
pub const REGISTRATIONS: Collection = Collection {
    table: "kp_registry",
    names: "kp_registry_name",
    indexes: &[],
};

const COLLECTIONS: &[Collection] = &[DEVICE_SERVICES, DEVICES, PROFILES, WATCHERS, REGISTRATIONS];

const KV: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("kp_kv");
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const EVENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("ev_events");
/// The id index of schema version 1 (`id -> sequence number`), migrated to [`EVENT_IDS`] on open.
const EVENT_IDS_V1: TableDefinition<'_, &str, u64> = TableDefinition::new("ev_ids");
const EV_BY_ORIGIN: TableDefinition<'_, (u64, u64), ()> = TableDefinition::new("ev_by_origin");
const EV_BY_DEVICE: TableDefinition<'_, (&str, u64, u64), ()> =
    TableDefinition::new("ev_by_device");
const RD_BY_RESOURCE: TableDefinition<'_, (&str, u64, u64, u32), ()> =
    TableDefinition::new("rd_by_resource");

/// 1: id index keyed by id text; 2: id index keyed by generation ([`id_index`]).
const SCHEMA_VERSION: u64 = 2;

fn docs(c: &Collection) -> TableDefinition<'static, &'static str, &'static [u8]> {
    TableDefinition::new(c.table)
}
fn names(c: &Collection) -> TableDefinition<'static, &'static str, &'static str> {
    TableDefinition::new(c.names)
}
fn index(i: &Index) -> MultimapTableDefinition<'static, &'static str, &'static str> {
    MultimapTableDefinition::new(i.table)
}

/// Handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    /// Filter over the stored event ids. Only changed inside a write transaction (so writers, which
    /// redb serialises, never race on it); the mutex only makes it shareable.
    event_ids: Arc<Mutex<IdFilter>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// An event ready to be stored: its compact record and index keys, computed outside the write
/// transaction (decoders can prepare events in parallel while one writer commits).
#[derive(Debug, Clone)]
pub struct PreparedEvent {
    id: String,
    /// [`event_codec::id_key`] of `id`.
    id_key: Vec<u8>,
    device: String,
    origin: u64,
    /// `(resourceName, origin)` of each reading, in order.
    readings: Vec<(String, u64)>,
    record: Vec<u8>,
}

impl PreparedEvent {
    /// Encode `e` (already validated: non-empty id, positive origins).
    pub fn new(e: &Event) -> StoreResult<Self> {
        let mut record = Vec::with_capacity(128 + 96 * e.readings.len());
        event_codec::encode(e, &mut record)?;
        let origin = u64::try_from(e.origin).unwrap_or(0);
        Ok(PreparedEvent {
            id: e.id.clone(),
            id_key: event_codec::id_key(&e.id),
            device: e.device_name.clone(),
            origin,
            readings: e
                .readings
                .iter()
                .map(|r| {
                    (
                        r.resource_name.clone(),
                        u64::try_from(r.origin).unwrap_or(0),
                    )
                })
                .collect(),
            record,
        })
    }

    /// The event id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Size of the stored record in bytes.
    pub fn record_len(&self) -> usize {
        self.record.len()
    }
}

/// Filter for event/reading range queries.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Restrict to one device.
    pub device: Option<String>,
    /// Restrict readings to one resource.
    pub resource: Option<String>,
    /// Origin range start (ns, inclusive).
    pub start: u64,
    /// Origin range end (ns, inclusive).
    pub end: u64,
}

impl EventFilter {
    /// All origins.
    pub fn all() -> Self {
        EventFilter {
            device: None,
            resource: None,
            start: 0,
            end: u64::MAX,
        }
    }
}

impl Store {
    /// Open (or create) the database file `<dir>/core-bridge.redb`.
    pub fn open(dir: &Path) -> StoreResult<Store> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Db(format!("creating {}: {e}", dir.display())))?;
        let db = Database::create(dir.join("core-bridge.redb"))?;
        Self::init(db)
    }

    /// A fresh in-memory database (tests, `Database.Path: memory`).
    pub fn in_memory() -> StoreResult<Store> {
        let db = Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?;
        Self::init(db)
    }

    fn init(db: Database) -> StoreResult<Store> {
        let tx = db.begin_write()?;
        for c in COLLECTIONS {
            tx.open_table(docs(c))?;
            tx.open_table(names(c))?;
            for i in c.indexes {
                tx.open_multimap_table(index(i))?;
            }
        }
        tx.open_table(KV)?;
        {
            let mut meta = tx.open_table(META)?;
            let version = meta.get("schema_version")?.map(|g| g.value());
            match version {
                None => {}
                Some(1) => migrate_v1_ids(&tx)?,
                Some(SCHEMA_VERSION) => {}
                Some(other) => {
                    return Err(StoreError::Db(format!(
                        "unsupported store schema version {other} (expected {SCHEMA_VERSION})"
                    )));
                }
            }
            meta.insert("schema_version", SCHEMA_VERSION)?;
        }
        tx.open_table(EVENTS)?;
        let filter = IdFilter::build(&tx.open_table(EVENT_IDS)?)?;
        tx.open_table(EV_BY_ORIGIN)?;
        tx.open_table(EV_BY_DEVICE)?;
        tx.open_table(RD_BY_RESOURCE)?;
        tx.commit()?;
        Ok(Store {
            db: Arc::new(db),
            event_ids: Arc::new(Mutex::new(filter)),
        })
    }

    /// The event id filter; a poisoned lock only means another writer panicked after its commit or
    /// abort, and the filter is never left in a state that breaks its invariant.
    fn event_ids(&self) -> MutexGuard<'_, IdFilter> {
        self.event_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    // ---------------------------------------------------------------- collections

    /// Document by id.
    pub fn get_by_id(&self, c: &Collection, id: &str) -> StoreResult<Option<Value>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(docs(c))?;
        match t.get(id)? {
            Some(g) => Ok(Some(serde_json::from_slice(g.value())?)),
            None => Ok(None),
        }
    }

    /// Document by unique name.
    pub fn get_by_name(&self, c: &Collection, name: &str) -> StoreResult<Option<Value>> {
        let tx = self.db.begin_read()?;
        let n = tx.open_table(names(c))?;
        let Some(id) = n.get(name)? else {
            return Ok(None);
        };
        let t = tx.open_table(docs(c))?;
        match t.get(id.value())? {
            Some(g) => Ok(Some(serde_json::from_slice(g.value())?)),
            None => Ok(None),
        }
    }

    /// All documents, ordered by name.
    pub fn list(&self, c: &Collection) -> StoreResult<Vec<Value>> {
        let tx = self.db.begin_read()?;
        let n = tx.open_table(names(c))?;
        let t = tx.open_table(docs(c))?;
        let mut out = Vec::new();
        for item in n.iter()? {
            let (_, id) = item?;
            if let Some(g) = t.get(id.value())? {
                out.push(serde_json::from_slice(g.value())?);
            }
        }
        Ok(out)
    }

    /// Documents whose index `table` holds `key`, ordered by name.
    pub fn list_by_index(&self, c: &Collection, table: &str, key: &str) -> StoreResult<Vec<Value>> {
        let Some(i) = c.indexes.iter().find(|i| i.table == table) else {
            return Err(StoreError::Db(format!("no index {table} on {}", c.table)));
        };
        let tx = self.db.begin_read()?;
        let m = tx.open_multimap_table(index(i))?;
        let t = tx.open_table(docs(c))?;
        let mut out: Vec<Value> = Vec::new();
        for id in m.get(key)? {
            let id = id?;
            if let Some(g) = t.get(id.value())? {
                out.push(serde_json::from_slice(g.value())?);
            }
        }
        out.sort_by(|a, b| name_of(a).cmp(name_of(b)));
        Ok(out)
    }

    /// Number of documents whose index `table` holds `key`.
    pub fn count_by_index(&self, c: &Collection, table: &str, key: &str) -> StoreResult<u64> {
        let Some(i) = c.indexes.iter().find(|i| i.table == table) else {
            return Err(StoreError::Db(format!("no index {table} on {}", c.table)));
        };
        let tx = self.db.begin_read()?;
        let m = tx.open_multimap_table(index(i))?;
        Ok(m.get(key)?.len())
    }

    /// Insert a new document; its `id` and `name` must both be unused.
    pub fn insert(&self, c: &Collection, doc: &Value) -> StoreResult<()> {
        let tx = self.db.begin_write()?;
        put_doc(&tx, c, doc, None)?;
        tx.commit()?;
        Ok(())
    }

    /// Replace the document with the same `id`; a renamed document must take an unused name.
    pub fn replace(&self, c: &Collection, doc: &Value) -> StoreResult<Value> {
        let tx = self.db.begin_write()?;
        let id = id_of(doc).to_string();
        let old: Value = {
            let t = tx.open_table(docs(c))?;
            let Some(g) = t.get(id.as_str())? else {
                return Err(StoreError::NotFound(format!(
                    "{} with id {id} not found",
                    c.table
                )));
            };
            serde_json::from_slice(g.value())?
        };
        remove_doc(&tx, c, &old)?;
        put_doc(&tx, c, doc, Some(&old))?;
        tx.commit()?;
        Ok(old)
    }

    /// Delete a document by id, returning it.
    pub fn delete(&self, c: &Collection, id: &str) -> StoreResult<Value> {
        let tx = self.db.begin_write()?;
        let old: Value = {
            let t = tx.open_table(docs(c))?;
            let Some(g) = t.get(id)? else {
                return Err(StoreError::NotFound(format!(
                    "{} with id {id} not found",
                    c.table
                )));
            };
            serde_json::from_slice(g.value())?
        };
        remove_doc(&tx, c, &old)?;
        tx.commit()?;
        Ok(old)
    }

    /// Number of documents in a collection.
    pub fn count(&self, c: &Collection) -> StoreResult<u64> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(docs(c))?.len()?)
    }

    // ---------------------------------------------------------------- key/value (core-keeper)

    /// Value stored under exactly `key`.
    pub fn kv_get(&self, key: &str) -> StoreResult<Option<Value>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(KV)?;
        match t.get(key)? {
            Some(g) => Ok(Some(serde_json::from_slice(g.value())?)),
            None => Ok(None),
        }
    }

    /// All `(key, value)` with `key` equal to `prefix` or below it (`prefix/...`), in key order.
    pub fn kv_tree(&self, prefix: &str) -> StoreResult<Vec<(String, Value)>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(KV)?;
        let mut out = Vec::new();
        for item in t.range(prefix..)? {
            let (k, v) = item?;
            let k = k.value();
            if !k.starts_with(prefix) {
                break;
            }
            if k.len() == prefix.len()
                || prefix.ends_with('/')
                || k.as_bytes().get(prefix.len()) == Some(&b'/')
            {
                out.push((k.to_string(), serde_json::from_slice(v.value())?));
            }
        }
        Ok(out)
    }

    /// Store several key/values in one durable transaction.
    pub fn kv_put_many(&self, items: &[(String, Value)]) -> StoreResult<()> {
        let tx = self.db.begin_write()?;
        {
            let mut t = tx.open_table(KV)?;
            for (k, v) in items {
                t.insert(k.as_str(), serde_json::to_vec(v)?.as_slice())?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Delete keys, returning those that existed.
    pub fn kv_delete(&self, keys: &[String]) -> StoreResult<Vec<String>> {
        let tx = self.db.begin_write()?;
        let mut gone = Vec::new();
        {
            let mut t = tx.open_table(KV)?;
            for k in keys {
                if t.remove(k.as_str())?.is_some() {
                    gone.push(k.clone());
                }
            }
        }
        tx.commit()?;
        Ok(gone)
    }

    /// True when no key/value has ever been stored.
    pub fn kv_is_empty(&self) -> StoreResult<bool> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(KV)?.is_empty()?)
    }

    // ---------------------------------------------------------------- events and readings

    /// Persist a batch of events in one durable transaction. Events whose id is already stored (or
    /// repeated within the batch) are skipped and reported by index.
    pub fn add_events(&self, events: &[PreparedEvent]) -> StoreResult<Vec<usize>> {
        let tx = self.db.begin_write()?;
        let mut duplicates = Vec::new();
        {
            let mut filter = self.event_ids();
            let mut meta = tx.open_table(META)?;
            let mut seq = meta.get("event_seq")?.map(|g| g.value()).unwrap_or(0);
            let mut ev = tx.open_table(EVENTS)?;
            let mut ids = tx.open_table(EVENT_IDS)?;
            let mut by_origin = tx.open_table(EV_BY_ORIGIN)?;
            let mut by_device = tx.open_table(EV_BY_DEVICE)?;
            let mut rd_resource = tx.open_table(RD_BY_RESOURCE)?;
            let mut readings = meta.get("reading_count")?.map(|g| g.value()).unwrap_or(0);
            for (n, e) in events.iter().enumerate() {
                // The exact probe only runs for the few ids the filter cannot clear (repeats, and
                // its false positives); it also sees the ids inserted earlier in this batch.
                if filter.may_contain(&e.id_key) && id_index::find(&ids, &e.id_key)?.is_some() {
                    duplicates.push(n);
                    continue;
                }
                seq += 1;
                ids.insert((id_index::generation(seq), e.id_key.as_slice()), seq)?;
                filter.insert(&e.id_key);
                ev.insert(seq, e.record.as_slice())?;
                by_origin.insert((e.origin, seq), ())?;
                by_device.insert((e.device.as_str(), e.origin, seq), ())?;
                for (i, (res, ro)) in e.readings.iter().enumerate() {
                    rd_resource.insert((res.as_str(), *ro, seq, i as u32), ())?;
                }
                readings += e.readings.len() as u64;
            }
            meta.insert("event_seq", seq)?;
            meta.insert("reading_count", readings)?;
        }
        tx.commit()?;
        Ok(duplicates)
    }

    /// Event by id.
    pub fn event_by_id(&self, id: &str) -> StoreResult<Option<Event>> {
        let tx = self.db.begin_read()?;
        let ids = tx.open_table(EVENT_IDS)?;
        let Some(seq) = id_index::find(&ids, &event_codec::id_key(id))? else {
            return Ok(None);
        };
        let ev = tx.open_table(EVENTS)?;
        match ev.get(seq)? {
            Some(g) => Ok(Some(event_codec::decode(g.value())?)),
            None => Ok(None),
        }
    }

    /// Events matching the filter, newest origin first, with the total matching count when `count` is set.
    pub fn query_events(
        &self,
        f: &EventFilter,
        offset: usize,
        limit: Option<usize>,
        count: bool,
    ) -> StoreResult<(Vec<Event>, u64)> {
        let tx = self.db.begin_read()?;
        let ev = tx.open_table(EVENTS)?;
        let mut seqs = Vec::new();
        let mut total = 0u64;
        let want = |total: u64| limit.is_none_or(|l| (total as usize) < offset + l);
        match &f.device {
            Some(d) => {
                let t = tx.open_table(EV_BY_DEVICE)?;
                for item in t
                    .range((d.as_str(), f.start, 0)..=(d.as_str(), f.end, u64::MAX))?
                    .rev()
                {
                    let (k, _) = item?;
                    if want(total) && total as usize >= offset {
                        seqs.push(k.value().2);
                    } else if !count && !want(total) {
                        break;
                    }
                    total += 1;
                }
            }
            None => {
                let t = tx.open_table(EV_BY_ORIGIN)?;
                if count && f.start == 0 && f.end == u64::MAX {
                    total = t.len()?;
                    for item in t
                        .iter()?
                        .rev()
                        .skip(offset)
                        .take(limit.unwrap_or(usize::MAX))
                    {
                        seqs.push(item?.0.value().1);
                    }
                } else {
                    for item in t.range((f.start, 0)..=(f.end, u64::MAX))?.rev() {
                        let (k, _) = item?;
                        if want(total) && total as usize >= offset {
                            seqs.push(k.value().1);
                        } else if !count && !want(total) {
                            break;
                        }
                        total += 1;
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(seqs.len());
        for s in seqs {
            if let Some(g) = ev.get(s)? {
                out.push(event_codec::decode(g.value())?);
            }
        }
        Ok((out, total))
    }

    /// Readings matching the filter, newest first, with the total count when `count` is set.
    pub fn query_readings(
        &self,
        f: &EventFilter,
        offset: usize,
        limit: Option<usize>,
        count: bool,
    ) -> StoreResult<(Vec<Reading>, u64)> {
        let tx = self.db.begin_read()?;
        let ev = tx.open_table(EVENTS)?;
        let mut refs: Vec<(u64, u32)> = Vec::new();
        let mut total = 0u64;
        let want = |total: u64| limit.is_none_or(|l| (total as usize) < offset + l);
        // Device+resource: walk the resource index and keep the device's readings.
        let device_filter = f.device.clone().filter(|_| f.resource.is_some());
        let load_ok = |seq: u64| -> StoreResult<bool> {
            let Some(d) = &device_filter else {
                return Ok(true);
            };
            let Some(g) = ev.get(seq)? else {
                return Ok(false);
            };
            Ok(event_codec::decode(g.value())?.device_name == *d)
        };
        let visit =
            |seq: u64, i: u32, refs: &mut Vec<(u64, u32)>, total: &mut u64| -> StoreResult<bool> {
                if !load_ok(seq)? {
                    return Ok(true);
                }
                if want(*total) && *total as usize >= offset {
                    refs.push((seq, i));
                } else if !count && !want(*total) {
                    return Ok(false);
                }
                *total += 1;
                Ok(true)
            };
        if let Some(r) = &f.resource {
            let t = tx.open_table(RD_BY_RESOURCE)?;
            for item in t
                .range((r.as_str(), f.start, 0, 0)..=(r.as_str(), f.end, u64::MAX, u32::MAX))?
                .rev()
            {
                let g = item?;
                let k = g.0.value();
                if !visit(k.2, k.3, &mut refs, &mut total)? {
                    break;
                }
            }
        } else {
            // Readings without a resource filter: walk the event indexes and expand each event.
            if count && f.device.is_none() && f.start == 0 && f.end == u64::MAX {
                let meta = tx.open_table(META)?;
                total = meta.get("reading_count")?.map(|g| g.value()).unwrap_or(0);
                if limit == Some(0) {
                    return Ok((Vec::new(), total));
                }
            }
            let known_total = total;
            let mut out = Vec::new();
            let mut seen = 0u64;
            let mut expand = |seq: u64, out: &mut Vec<Reading>| -> StoreResult<bool> {
                let Some(g) = ev.get(seq)? else {
                    return Ok(true);
                };
                for r in event_codec::decode(g.value())?.readings {
                    if want(seen) && seen as usize >= offset {
                        out.push(r);
                    } else if !want(seen) && (!count || known_total > 0) {
                        return Ok(false);
                    }
                    seen += 1;
                }
                Ok(true)
            };
            match &f.device {
                Some(d) => {
                    let t = tx.open_table(EV_BY_DEVICE)?;
                    for item in t
                        .range((d.as_str(), f.start, 0)..=(d.as_str(), f.end, u64::MAX))?
                        .rev()
                    {
                        let g = item?;
                        if !expand(g.0.value().2, &mut out)? {
                            break;
                        }
                    }
                }
                None => {
                    let t = tx.open_table(EV_BY_ORIGIN)?;
                    for item in t.range((f.start, 0)..=(f.end, u64::MAX))?.rev() {
                        let g = item?;
                        if !expand(g.0.value().1, &mut out)? {
                            break;
                        }
                    }
                }
            }
            let total = if known_total > 0 { known_total } else { seen };
            return Ok((out, total));
        }
        let mut out = Vec::with_capacity(refs.len());
        for (seq, i) in refs {
            if let Some(g) = ev.get(seq)? {
                let mut e = event_codec::decode(g.value())?;
                if (i as usize) < e.readings.len() {
                    out.push(e.readings.swap_remove(i as usize));
                }
            }
        }
        Ok((out, total))
    }

    /// Total number of events.
    pub fn event_count(&self) -> StoreResult<u64> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(EVENTS)?.len()?)
    }

    /// Total number of readings.
    pub fn reading_count(&self) -> StoreResult<u64> {
        let tx = self.db.begin_read()?;
        let meta = tx.open_table(META)?;
        Ok(meta.get("reading_count")?.map(|g| g.value()).unwrap_or(0))
    }

    /// Delete events by sequence number selection; returns the number deleted.
    fn delete_event_seqs(
        &self,
        pick: impl FnOnce(&redb::WriteTransaction) -> StoreResult<Vec<u64>>,
    ) -> StoreResult<u64> {
        let tx = self.db.begin_write()?;
        let seqs = pick(&tx)?;
        let mut n = 0;
        let mut filter = self.event_ids();
        {
            let mut ev = tx.open_table(EVENTS)?;
            let mut ids = tx.open_table(EVENT_IDS)?;
            let mut by_origin = tx.open_table(EV_BY_ORIGIN)?;
            let mut by_device = tx.open_table(EV_BY_DEVICE)?;
            let mut rd_resource = tx.open_table(RD_BY_RESOURCE)?;
            let mut meta = tx.open_table(META)?;
            let mut readings = meta.get("reading_count")?.map(|g| g.value()).unwrap_or(0);
            for seq in seqs {
                let Some(g) = ev.remove(seq)? else { continue };
                let e = event_codec::decode(g.value())?;
                drop(g);
                let origin = u64::try_from(e.origin).unwrap_or(0);
                n += 1;
                ids.remove((
                    id_index::generation(seq),
                    event_codec::id_key(&e.id).as_slice(),
                ))?;
                by_origin.remove((origin, seq))?;
                by_device.remove((e.device_name.as_str(), origin, seq))?;
                for (i, r) in e.readings.iter().enumerate() {
                    let ro = u64::try_from(r.origin).unwrap_or(0);
                    rd_resource.remove((r.resource_name.as_str(), ro, seq, i as u32))?;
                }
                readings = readings.saturating_sub(e.readings.len() as u64);
            }
            meta.insert("reading_count", readings)?;
        }
        filter.removed(n);
        let rebuilt = if filter.needs_rebuild() {
            Some(IdFilter::build(&tx.open_table(EVENT_IDS)?)?)
        } else {
            None
        };
        tx.commit()?;
        if let Some(f) = rebuilt {
            *filter = f;
        }
        Ok(n)
    }

    /// Delete one event by id; false when absent.
    pub fn delete_event(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        let n = self.delete_event_seqs(|tx| {
            let ids = tx.open_table(EVENT_IDS)?;
            Ok(id_index::find(&ids, &event_codec::id_key(&id))?
                .into_iter()
                .collect())
        })?;
        Ok(n > 0)
    }

    /// Delete all events of a device.
    pub fn delete_events_by_device(&self, device: &str) -> StoreResult<u64> {
        self.delete_event_seqs(|tx| {
            let t = tx.open_table(EV_BY_DEVICE)?;
            let mut v = Vec::new();
            for item in t.range((device, 0, 0)..=(device, u64::MAX, u64::MAX))? {
                v.push(item?.0.value().2);
            }
            Ok(v)
        })
    }

    /// Delete events whose origin is before `cutoff` (ns).
    pub fn delete_events_before(&self, cutoff: u64) -> StoreResult<u64> {
        self.delete_event_seqs(|tx| {
            let t = tx.open_table(EV_BY_ORIGIN)?;
            let mut v = Vec::new();
            for item in t.range(..(cutoff, 0))? {
                v.push(item?.0.value().1);
            }
            Ok(v)
        })
    }

    /// Delete the oldest events so that at most `keep` remain.
    pub fn trim_events_to(&self, keep: u64) -> StoreResult<u64> {
        self.delete_event_seqs(|tx| {
            let t = tx.open_table(EV_BY_ORIGIN)?;
            let len = t.len()?;
            let mut v = Vec::new();
            if len > keep {
                for item in t.iter()?.take((len - keep) as usize) {
                    v.push(item?.0.value().1);
                }
            }
            Ok(v)
        })
    }
}

/// Schema 1 to 2: the id index moves from `id -> seq` to `(generation, id key) -> seq`, in the
/// transaction that opens the store (a crash during it leaves the store at version 1).
fn migrate_v1_ids(tx: &redb::WriteTransaction) -> StoreResult<()> {
    {
        let old = tx.open_table(EVENT_IDS_V1)?;
        let mut ids = tx.open_table(EVENT_IDS)?;
        for item in old.iter()? {
            let (id, seq) = item?;
            let seq = seq.value();
            let key = event_codec::id_key(id.value());
            ids.insert((id_index::generation(seq), key.as_slice()), seq)?;
        }
    }
    tx.delete_table(EVENT_IDS_V1)?;
    Ok(())
}

fn id_of(v: &Value) -> &str {
    v.get("id").and_then(Value::as_str).unwrap_or("")
}
fn name_of(v: &Value) -> &str {
    v.get("name").and_then(Value::as_str).unwrap_or("")
}

fn put_doc(
    tx: &redb::WriteTransaction,
    c: &Collection,
    doc: &Value,
    old: Option<&Value>,
) -> StoreResult<()> {
    let id = id_of(doc);
    let name = name_of(doc);
    {
        let mut n = tx.open_table(names(c))?;
        if let Some(existing) = n.get(name)?
            && old.is_none_or(|o| id_of(o) != existing.value())
        {
            return Err(StoreError::Duplicate(format!("name {name} already exists")));
        }
        n.insert(name, id)?;
    }
    {
        let mut t = tx.open_table(docs(c))?;
        if old.is_none() && t.get(id)?.is_some() {
            return Err(StoreError::Duplicate(format!("id {id} already exists")));
        }
        t.insert(id, serde_json::to_vec(doc)?.as_slice())?;
    }
    for i in c.indexes {
        let mut m = tx.open_multimap_table(index(i))?;
        for k in (i.keys)(doc) {
            m.insert(k.as_str(), id)?;
        }
    }
    Ok(())
}

fn remove_doc(tx: &redb::WriteTransaction, c: &Collection, old: &Value) -> StoreResult<()> {
    let id = id_of(old);
    tx.open_table(names(c))?.remove(name_of(old))?;
    tx.open_table(docs(c))?.remove(id)?;
    for i in c.indexes {
        let mut m = tx.open_multimap_table(index(i))?;
        for k in (i.keys)(old) {
            m.remove(k.as_str(), id)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn device_names_are_unique_and_indexes_follow_updates() {
        let s = Store::in_memory().unwrap();
        let d = json!({"id":"1","name":"d1","serviceName":"s1","profileName":"p1"});
        s.insert(&DEVICES, &d).unwrap();
        let dup = json!({"id":"2","name":"d1","serviceName":"s1"});
        assert!(matches!(
            s.insert(&DEVICES, &dup),
            Err(StoreError::Duplicate(_))
        ));
        assert_eq!(
            s.list_by_index(&DEVICES, "md_device_by_service", "s1")
                .unwrap()
                .len(),
            1
        );
        let moved = json!({"id":"1","name":"d1b","serviceName":"s2","profileName":"p1"});
        s.replace(&DEVICES, &moved).unwrap();
        assert!(
            s.list_by_index(&DEVICES, "md_device_by_service", "s1")
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.get_by_name(&DEVICES, "d1b").unwrap().unwrap()["serviceName"],
            "s2"
        );
        assert!(s.get_by_name(&DEVICES, "d1").unwrap().is_none());
        s.delete(&DEVICES, "1").unwrap();
        assert_eq!(s.count(&DEVICES).unwrap(), 0);
    }

    #[test]
    fn events_are_queried_newest_first_by_device_and_resource() {
        let s = Store::in_memory().unwrap();
        let evs: Vec<PreparedEvent> = (1..=10u64)
            .map(|i| {
                let e: Event = serde_json::from_value(json!({"id":format!("e{i}"),"deviceName":if i % 2 == 0 {"a"} else {"b"},
                    "profileName":"p","sourceName":"r","origin":i,
                    "readings":[{"origin":i,"resourceName":"r","deviceName":"x","valueType":"Int8","value":i.to_string()}]}))
                .unwrap();
                PreparedEvent::new(&e).unwrap()
            })
            .collect();
        assert!(s.add_events(&evs).unwrap().is_empty());
        assert_eq!(s.add_events(&evs[..1]).unwrap(), vec![0]);
        let f = EventFilter {
            device: Some("a".into()),
            ..EventFilter::all()
        };
        let (got, total) = s.query_events(&f, 1, Some(2), true).unwrap();
        assert_eq!(total, 5);
        assert_eq!(got[0].id, "e8");
        let f = EventFilter {
            resource: Some("r".into()),
            start: 2,
            end: 4,
            ..EventFilter::all()
        };
        let (got, total) = s.query_readings(&f, 0, None, true).unwrap();
        assert_eq!((got.len(), total), (3, 3));
        assert_eq!(s.trim_events_to(4).unwrap(), 6);
        assert_eq!(s.reading_count().unwrap(), 4);
        assert_eq!(s.delete_events_before(9).unwrap(), 2);
        assert_eq!(s.event_count().unwrap(), 2);
    }

    #[test]
    fn a_repeated_event_id_is_reported_and_keeps_the_first_event() {
        let s = Store::in_memory().unwrap();
        let ev = |origin: u64| {
            let e: Event =
                serde_json::from_value(json!({"id":"same","deviceName":"d","profileName":"p",
                "sourceName":"r","origin":origin,"readings":[{"valueType":"Int8","value":"1"}]}))
                .unwrap();
            PreparedEvent::new(&e).unwrap()
        };
        assert_eq!(s.add_events(&[ev(1), ev(2)]).unwrap(), vec![1]);
        assert_eq!(s.add_events(&[ev(3)]).unwrap(), vec![0]);
        assert_eq!(s.event_by_id("same").unwrap().unwrap().origin, 1);
        assert_eq!(
            (s.event_count().unwrap(), s.reading_count().unwrap()),
            (1, 1)
        );
        assert!(s.delete_event("same").unwrap());
        assert!(s.event_by_id("same").unwrap().is_none());
    }

    fn one_reading_event(id: &str, origin: u64) -> PreparedEvent {
        let e: Event = serde_json::from_value(json!({"id":id,"deviceName":"d","profileName":"p",
            "sourceName":"r","origin":origin,"readings":[{"valueType":"Int8","value":"1"}]}))
        .unwrap();
        PreparedEvent::new(&e).unwrap()
    }

    #[test]
    fn events_are_found_by_id_across_generations_and_repeats_are_refused() {
        let s = Store::in_memory().unwrap();
        let n = 3 * (1u64 << id_index::GEN_BITS) + 5;
        let ids: Vec<String> = (0..n)
            .map(|i| uuid::Uuid::from_u128(u128::from(i) << 64 | 7).to_string())
            .collect();
        let evs: Vec<PreparedEvent> = ids
            .iter()
            .zip(1..)
            .map(|(id, o)| one_reading_event(id, o))
            .collect();
        for chunk in evs.chunks(2048) {
            assert!(s.add_events(chunk).unwrap().is_empty());
        }
        for i in [0, 1, n / 2, n - 1] {
            assert_eq!(
                s.event_by_id(&ids[i as usize]).unwrap().unwrap().origin,
                i as i64 + 1
            );
        }
        // Repeats from every generation, a non-UUID id, and a repeat inside one batch.
        let again = vec![
            one_reading_event(&ids[0], 1),
            one_reading_event(&ids[(n / 2) as usize], 1),
            one_reading_event("not-a-uuid", 1),
            one_reading_event("not-a-uuid", 2),
        ];
        assert_eq!(s.add_events(&again).unwrap(), vec![0, 1, 3]);
        assert_eq!(s.event_by_id("not-a-uuid").unwrap().unwrap().origin, 1);
        assert!(s.delete_event(&ids[1]).unwrap());
        assert!(s.event_by_id(&ids[1]).unwrap().is_none());
        assert!(
            s.add_events(&[one_reading_event(&ids[1], 9)])
                .unwrap()
                .is_empty()
        );
        assert_eq!(s.event_count().unwrap(), n + 1);
    }

    #[test]
    fn retention_that_deletes_most_events_rebuilds_the_id_filter_and_keeps_duplicates_exact() {
        let s = Store::in_memory().unwrap();
        let id = |i: u64| uuid::Uuid::from_u128(u128::from(i) + 1).to_string();
        let evs: Vec<PreparedEvent> = (0..150_000)
            .map(|i| one_reading_event(&id(i), i + 1))
            .collect();
        for chunk in evs.chunks(4096) {
            s.add_events(chunk).unwrap();
        }
        assert_eq!(s.trim_events_to(1_000).unwrap(), 149_000);
        let f = s.event_ids();
        assert!(!f.needs_rebuild() && !f.may_contain(&event_codec::id_key(&id(5))));
        drop(f);
        assert_eq!(
            s.add_events(&[one_reading_event(&id(149_999), 1)]).unwrap(),
            vec![0]
        );
        assert!(
            s.add_events(&[one_reading_event(&id(5), 1)])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_schema_1_store_is_migrated_on_open_and_keeps_its_ids() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            let evs: Vec<PreparedEvent> = (1..=3)
                .map(|i| one_reading_event(&format!("e{i}"), i))
                .collect();
            s.add_events(&evs).unwrap();
        }
        // Put the store back into the schema 1 layout: id text -> seq, version 1.
        {
            let db = Database::create(dir.path().join("core-bridge.redb")).unwrap();
            let tx = db.begin_write().unwrap();
            {
                let ev = tx.open_table(EVENTS).unwrap();
                let mut old = tx.open_table(EVENT_IDS_V1).unwrap();
                for item in ev.iter().unwrap() {
                    let (seq, rec) = item.unwrap();
                    let e = event_codec::decode(rec.value()).unwrap();
                    old.insert(e.id.as_str(), seq.value()).unwrap();
                }
                tx.open_table(META)
                    .unwrap()
                    .insert("schema_version", 1)
                    .unwrap();
            }
            tx.delete_table(EVENT_IDS).unwrap();
            tx.commit().unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.event_by_id("e2").unwrap().unwrap().origin, 2);
        assert_eq!(
            s.add_events(&[one_reading_event("e3", 7)]).unwrap(),
            vec![0]
        );
        let tx = s.db.begin_read().unwrap();
        assert!(tx.open_table(EVENT_IDS_V1).is_err());
        let meta = tx.open_table(META).unwrap();
        assert_eq!(
            meta.get("schema_version").unwrap().unwrap().value(),
            SCHEMA_VERSION
        );
    }

    #[test]
    fn kv_tree_matches_whole_path_segments() {
        let s = Store::in_memory().unwrap();
        s.kv_put_many(&[
            ("a/b".into(), json!(1)),
            ("a/bc".into(), json!(2)),
            ("a/b/c".into(), json!(3)),
        ])
        .unwrap();
        let keys: Vec<String> = s
            .kv_tree("a/b")
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec!["a/b", "a/b/c"]);
    }
}
