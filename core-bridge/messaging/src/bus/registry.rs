//! Subscription bookkeeping shared by the backends: which filters are wanted by whom,
//! reference counts per filter (to know when to subscribe/unsubscribe at the broker), and
//! delivery of received messages to every matching subscription.

use crate::envelope::MessageEnvelope;
use crate::topics::topic_matches;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc;

/// Capacity of each subscription's queue. A full queue holds back the backend's receive loop
/// (backpressure towards the broker) rather than dropping messages.
pub const DELIVERY_QUEUE: usize = 4096;

type Tx = mpsc::Sender<(String, MessageEnvelope)>;

#[derive(Debug)]
struct Entry {
    filters: Vec<String>,
    tx: Tx,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    subs: HashMap<u64, Entry>,
    refcount: HashMap<String, usize>,
}

#[derive(Debug, Default)]
pub(crate) struct Registry {
    inner: Mutex<Inner>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the maps inconsistent in a harmful way.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Register a subscription; returns its id, receiver and the filters that had no
    /// subscriber before (to subscribe at the broker).
    pub(crate) fn add(
        &self,
        filters: &[&str],
    ) -> (u64, mpsc::Receiver<(String, MessageEnvelope)>, Vec<String>) {
        let (tx, rx) = mpsc::channel(DELIVERY_QUEUE);
        let mut g = self.lock();
        let id = g.next_id;
        g.next_id += 1;
        let mut fresh = Vec::new();
        let mut own: Vec<String> = Vec::new();
        for f in filters {
            if own.iter().any(|o| o == f) {
                continue;
            }
            own.push((*f).to_owned());
            let c = g.refcount.entry((*f).to_owned()).or_insert(0);
            *c += 1;
            if *c == 1 {
                fresh.push((*f).to_owned());
            }
        }
        g.subs.insert(id, Entry { filters: own, tx });
        (id, rx, fresh)
    }

    /// Remove a subscription; returns the filters nobody needs any more.
    pub(crate) fn remove(&self, id: u64) -> Vec<String> {
        let mut g = self.lock();
        let mut gone = Vec::new();
        if let Some(e) = g.subs.remove(&id) {
            for f in e.filters {
                if let Some(c) = g.refcount.get_mut(&f) {
                    *c -= 1;
                    if *c == 0 {
                        g.refcount.remove(&f);
                        gone.push(f);
                    }
                }
            }
        }
        gone
    }

    /// Every filter currently wanted (for resubscribing after a reconnect).
    pub(crate) fn all_filters(&self) -> Vec<String> {
        self.lock().refcount.keys().cloned().collect()
    }

    /// Deliver to every subscription with a filter matching `topic` and accepted by `extra`
    /// (which sees the subscription's filters). Waits when a queue is full.
    pub(crate) async fn dispatch_with(
        &self,
        topic: &str,
        envelope: MessageEnvelope,
        extra: impl Fn(&[String]) -> bool,
    ) {
        let targets: Vec<Tx> = {
            let g = self.lock();
            g.subs
                .values()
                .filter(|e| e.filters.iter().any(|f| topic_matches(f, topic)) && extra(&e.filters))
                .map(|e| e.tx.clone())
                .collect()
        };
        let n = targets.len();
        let mut envelope = Some(envelope);
        for (i, tx) in targets.into_iter().enumerate() {
            let env = if i + 1 == n {
                envelope.take()
            } else {
                envelope.clone()
            };
            if let Some(env) = env {
                // A closed receiver belongs to a subscription being dropped: nothing to do.
                let _ = tx.send((topic.to_owned(), env)).await;
            }
        }
    }

    pub(crate) async fn dispatch(&self, topic: &str, envelope: MessageEnvelope) {
        self.dispatch_with(topic, envelope, |_| true).await;
    }

    /// Deliver to every subscription regardless of filters (ZeroMQ one-frame messages).
    pub(crate) async fn broadcast(&self, envelope: MessageEnvelope) {
        let targets: Vec<Tx> = self.lock().subs.values().map(|e| e.tx.clone()).collect();
        for tx in targets {
            let _ = tx.send((String::new(), envelope.clone())).await;
        }
    }

    /// Close every subscription.
    pub(crate) fn clear(&self) {
        let mut g = self.lock();
        g.subs.clear();
        g.refcount.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shared_filters_are_refcounted_and_delivery_follows_wildcards() {
        let r = Registry::default();
        let (a, mut ra, fa) = r.add(&["x/#", "y/+"]);
        assert_eq!(fa, vec!["x/#", "y/+"]);
        let (b, mut rb, fb) = r.add(&["x/#"]);
        assert!(fb.is_empty());
        r.dispatch("x/1/2", MessageEnvelope::empty()).await;
        r.dispatch("y/1/2", MessageEnvelope::empty()).await;
        assert_eq!(ra.recv().await.unwrap().0, "x/1/2");
        assert_eq!(rb.recv().await.unwrap().0, "x/1/2");
        assert!(ra.try_recv().is_err());
        assert!(r.remove(a).contains(&"y/+".to_owned()));
        assert_eq!(r.remove(b), vec!["x/#"]);
        assert!(r.all_filters().is_empty());
    }
}
