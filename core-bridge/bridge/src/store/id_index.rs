//! The event id index, laid out so that ingest writes stay local, and the in-memory filter that keeps
//! the duplicate-id check of every ingested event off the disk.
//!
//! Event ids are random UUIDs. Kept in one B-tree ordered by id, a batch of 2 048 inserts lands on as
//! many leaf pages all over the tree, and every one of them is rewritten and synced at commit: about one
//! 4 KiB page per 77-byte event once the store holds more leaves than a batch has events. Instead the key
//! is `(generation, id)`, where the generation is the event's sequence number with its low
//! [`GEN_BITS`] bits dropped. Sequence numbers only grow, so a batch only touches the small subtree of
//! the current generation (and the next), whatever the size of the store.
//!
//! The price is on lookups by id: the generation is not known from the id, so a lookup probes every
//! generation, newest first ([`find`]). That is for `GET`/`DELETE /event/id/{id}`, which are rare. The
//! duplicate check that every ingested event needs goes through [`IdFilter`] first: a Bloom filter over
//! every stored id that answers "certainly new" for all but a small fraction of new ids; only a "maybe"
//! goes to the exact probe. Invariant: every id in the table is in the filter (the filter may hold more:
//! deleted ids, and ids of a write that failed to commit), so a "certainly new" answer is always right.

use std::hash::{BuildHasher, Hasher};

use redb::{ReadableTable, TableDefinition};

use super::StoreResult;

/// `(generation, id key) -> sequence number`; the id key is [`super::event_codec::id_key`].
pub(super) const EVENT_IDS: TableDefinition<'_, (u64, &[u8]), u64> =
    TableDefinition::new("ev_ids_by_generation");

/// Low bits of the sequence number that one generation spans (8 192 events, about 90 leaf pages of
/// the index): small enough that a batch rewrites few pages, large enough that a lookup by id probes
/// few generations (122 per million stored events).
pub(super) const GEN_BITS: u32 = 13;

/// Generation of the event stored under sequence number `seq`.
pub(super) fn generation(seq: u64) -> u64 {
    seq >> GEN_BITS
}

/// Sequence number of the event stored under `key`, probing every generation present in the table,
/// newest first (a lookup by id is most often for a recent event).
pub(super) fn find<T>(ids: &T, key: &[u8]) -> StoreResult<Option<u64>>
where
    T: ReadableTable<(u64, &'static [u8]), u64>,
{
    let (Some(oldest), Some(newest)) = (ids.first()?, ids.last()?) else {
        return Ok(None);
    };
    let (oldest, newest) = (oldest.0.value().0, newest.0.value().0);
    for g in (oldest..=newest).rev() {
        if let Some(seq) = ids.get((g, key))? {
            return Ok(Some(seq.value()));
        }
    }
    Ok(None)
}

/// Bits of filter per id the filter is sized for (before rounding the size up to a power of two).
const BITS_PER_ID: u64 = 16;
/// Bit positions set per id; with 16-32 bits per id this gives well under 0.1 % false positives.
const PROBES: u32 = 8;
/// Ids the first filter is sized for; each further one is sized for twice the one before.
const FIRST_CAPACITY: u64 = 1 << 16;

/// A growable Bloom filter (a list of fixed-size filters, each twice the size of the one before, so
/// adding ids never rebuilds anything and a lookup checks a handful of filters). Deleted ids stay in
/// it until [`IdFilter::needs_rebuild`] says the stale share is large enough to start over.
#[derive(Debug)]
pub(super) struct IdFilter {
    filters: Vec<Bloom>,
    /// Ids added since the filter was built (live or not).
    added: u64,
    /// Ids in the table, as far as the filter has been told.
    live: u64,
}

#[derive(Debug)]
struct Bloom {
    bits: Vec<u64>,
    /// Number of bits minus one (the number of bits is a power of two).
    mask: u64,
    capacity: u64,
    len: u64,
}

impl Bloom {
    fn with_capacity(capacity: u64) -> Self {
        let nbits = (capacity * BITS_PER_ID).next_power_of_two().max(64);
        Bloom {
            bits: vec![0; (nbits / 64) as usize],
            mask: nbits - 1,
            capacity,
            len: 0,
        }
    }

    fn bit(&self, (h1, h2): (u64, u64), i: u32) -> (usize, u64) {
        let p = h1.wrapping_add(u64::from(i).wrapping_mul(h2)) & self.mask;
        ((p / 64) as usize, 1 << (p % 64))
    }

    fn insert(&mut self, h: (u64, u64)) {
        for i in 0..PROBES {
            let (word, bit) = self.bit(h, i);
            self.bits[word] |= bit;
        }
        self.len += 1;
    }

    fn may_contain(&self, h: (u64, u64)) -> bool {
        (0..PROBES).all(|i| {
            let (word, bit) = self.bit(h, i);
            self.bits[word] & bit != 0
        })
    }
}

/// Two independent 64-bit hashes of an id key (the second made odd so that the probe sequence
/// visits distinct bits). The filter is never written to disk (it is rebuilt when the store opens),
/// so the hash need not stay the same across builds.
fn hashes(key: &[u8]) -> (u64, u64) {
    let hash = |seed: u64| {
        let mut h =
            std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default().build_hasher();
        h.write_u64(seed);
        h.write(key);
        h.finish()
    };
    (hash(0x243f_6a88_85a3_08d3), hash(0x1319_8a2e_0370_7344) | 1)
}

impl IdFilter {
    /// An empty filter.
    pub(super) fn new() -> Self {
        IdFilter {
            filters: vec![Bloom::with_capacity(FIRST_CAPACITY)],
            added: 0,
            live: 0,
        }
    }

    /// A filter holding every id of the table.
    pub(super) fn build<T>(ids: &T) -> StoreResult<Self>
    where
        T: ReadableTable<(u64, &'static [u8]), u64>,
    {
        let mut f = IdFilter::new();
        for item in ids.iter()? {
            let (k, _) = item?;
            f.insert(k.value().1);
        }
        Ok(f)
    }

    /// False when `key` is certainly not stored; true when it may be.
    pub(super) fn may_contain(&self, key: &[u8]) -> bool {
        let h = hashes(key);
        self.filters.iter().any(|b| b.may_contain(h))
    }

    /// Record a stored id.
    pub(super) fn insert(&mut self, key: &[u8]) {
        let h = hashes(key);
        let full = self.filters.last().is_none_or(|b| b.len >= b.capacity);
        if full {
            let next = self
                .filters
                .last()
                .map_or(FIRST_CAPACITY, |b| b.capacity * 2);
            self.filters.push(Bloom::with_capacity(next));
        }
        if let Some(b) = self.filters.last_mut() {
            b.insert(h);
        }
        self.added += 1;
        self.live += 1;
    }

    /// Record that `n` stored ids were deleted (they stay in the filter).
    pub(super) fn removed(&mut self, n: u64) {
        self.live = self.live.saturating_sub(n);
    }

    /// True when more than half of what the filter holds is deleted ids, so that rebuilding it from
    /// the table (work in proportion to the live ids) keeps its memory and false positives in bounds.
    pub(super) fn needs_rebuild(&self) -> bool {
        self.added > FIRST_CAPACITY && self.added > 2 * self.live
    }

    /// Bytes held by the filter bits.
    #[cfg(test)]
    pub(super) fn heap_bytes(&self) -> usize {
        self.filters.iter().map(|b| b.bits.len() * 8).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u64) -> Vec<u8> {
        let mut k = vec![1];
        k.extend_from_slice(
            &u128::from(i)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
                .to_le_bytes(),
        );
        k
    }

    #[test]
    fn the_filter_never_forgets_an_inserted_id_and_rarely_claims_a_new_one() {
        let mut f = IdFilter::new();
        let n = 300_000u64;
        for i in 0..n {
            f.insert(&key(i));
        }
        assert!((0..n).all(|i| f.may_contain(&key(i))));
        let false_positives = (n..2 * n).filter(|&i| f.may_contain(&key(i))).count();
        // Three filters (64k, 128k, 256k ids) at 16-32 bits per id: well under 0.5 % together.
        assert!(false_positives < (n / 200) as usize, "{false_positives}");
        assert!(f.heap_bytes() < 2 * 1024 * 1024, "{}", f.heap_bytes());
    }

    #[test]
    fn the_filter_asks_for_a_rebuild_once_most_of_it_is_deleted_ids() {
        let mut f = IdFilter::new();
        for i in 0..200_000 {
            f.insert(&key(i));
        }
        f.removed(90_000);
        assert!(!f.needs_rebuild());
        f.removed(20_000);
        assert!(f.needs_rebuild());
    }

    #[test]
    fn generations_follow_the_sequence_number() {
        assert_eq!(generation(0), 0);
        assert_eq!(generation((1 << GEN_BITS) - 1), 0);
        assert_eq!(generation(1 << GEN_BITS), 1);
    }
}
