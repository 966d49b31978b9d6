//! [`Bus`] over edgex-messaging's `MessageBus` handle (MQTT, Redis, ZeroMQ, with TLS).

use std::sync::Arc;

use edgex_messaging::MessageEnvelope;
use tokio::sync::mpsc;

use crate::bus::{Bus, Delivery};
use crate::driver::BoxFuture;

/// The SDK's view of an edgex-messaging bus.
#[derive(Debug, Clone)]
pub struct MessagingBus(pub edgex_messaging::Bus);

impl Bus for MessagingBus {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        envelope: &'a MessageEnvelope,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.0
                .publish(topic, envelope)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.0.close())
    }

    fn subscribe<'a>(
        &'a self,
        filter: &'a str,
    ) -> BoxFuture<'a, Result<mpsc::Receiver<Delivery>, String>> {
        Box::pin(async move {
            let mut sub = self
                .0
                .subscribe(&[filter])
                .await
                .map_err(|e| e.to_string())?;
            let (tx, rx) = mpsc::channel(1024);
            tokio::spawn(async move {
                while let Some((topic, m)) = sub.recv().await {
                    if tx.send((topic, m)).await.is_err() {
                        break;
                    }
                }
            });
            Ok(rx)
        })
    }
}

impl MessagingBus {
    /// Wraps a connected edgex-messaging bus.
    pub fn shared(bus: edgex_messaging::Bus) -> Arc<dyn Bus> {
        Arc::new(MessagingBus(bus))
    }
}
