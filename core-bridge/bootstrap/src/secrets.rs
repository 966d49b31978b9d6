//! Secrets by name, as services look up credentials (`MessageBus.SecretName`, database secrets).
//!
//! In insecure mode (`EDGEX_SECURITY_SECRET_STORE=false`) secrets come from
//! `Writable.InsecureSecrets.<entry>.{SecretName, SecretData}`. Secrets stored at runtime (the
//! device SDK's `POST /api/v3/secret`) are kept in memory and shadow configured ones of the same
//! name. Secret values never appear in logs or `Debug` output.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use crate::config::InsecureSecret;

/// A secret store could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The secret name is empty.
    #[error("a secret needs a non-empty secretName")]
    EmptyName,
    /// The secret has no data.
    #[error("secret {0} has no secretData")]
    EmptyData(String),
    /// The store's lock was poisoned by a panicking writer.
    #[error("the secret store is unavailable")]
    Unavailable,
}

/// Lookup and storage of secrets by name.
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    /// The key/value data of `secret_name`, if known.
    fn get(&self, secret_name: &str) -> Option<HashMap<String, String>>;

    /// Stores (or replaces) `secret_name`.
    fn set(&self, secret_name: &str, data: HashMap<String, String>) -> Result<(), SecretError>;

    /// Names of all known secrets.
    fn names(&self) -> Vec<String>;
}

/// The insecure-mode store backed by `Writable.InsecureSecrets`.
pub struct InsecureSecretStore {
    configured: RwLock<HashMap<String, HashMap<String, String>>>,
    stored: RwLock<HashMap<String, HashMap<String, String>>>,
}

impl std::fmt::Debug for InsecureSecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InsecureSecretStore")
            .field("names", &self.names())
            .finish()
    }
}

impl InsecureSecretStore {
    /// A store over the configured `Writable.InsecureSecrets` entries (keyed by entry name; the
    /// lookup name is each entry's `SecretName`).
    pub fn new(insecure_secrets: &BTreeMap<String, InsecureSecret>) -> Self {
        let store = Self {
            configured: RwLock::new(HashMap::new()),
            stored: RwLock::new(HashMap::new()),
        };
        store.update_configured(insecure_secrets);
        store
    }

    /// Replaces the configured secrets, e.g. after a `Writable` change from the provider.
    pub fn update_configured(&self, insecure_secrets: &BTreeMap<String, InsecureSecret>) {
        let map = insecure_secrets
            .values()
            .filter(|s| !s.secret_name.is_empty())
            .map(|s| {
                let data = s
                    .secret_data
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                (s.secret_name.clone(), data)
            })
            .collect();
        match self.configured.write() {
            Ok(mut guard) => *guard = map,
            Err(poisoned) => *poisoned.into_inner() = map,
        }
    }
}

impl SecretStore for InsecureSecretStore {
    fn get(&self, secret_name: &str) -> Option<HashMap<String, String>> {
        let stored = self.stored.read().ok()?.get(secret_name).cloned();
        stored.or_else(|| self.configured.read().ok()?.get(secret_name).cloned())
    }

    fn set(&self, secret_name: &str, data: HashMap<String, String>) -> Result<(), SecretError> {
        if secret_name.is_empty() {
            return Err(SecretError::EmptyName);
        }
        if data.is_empty() {
            return Err(SecretError::EmptyData(secret_name.to_owned()));
        }
        self.stored
            .write()
            .map_err(|_| SecretError::Unavailable)?
            .insert(secret_name.to_owned(), data);
        tracing::info!(secret_name, "Secret stored");
        Ok(())
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if let Ok(guard) = self.configured.read() {
            names.extend(guard.keys().cloned());
        }
        if let Ok(guard) = self.stored.read() {
            names.extend(guard.keys().cloned());
        }
        names.sort();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured() -> BTreeMap<String, InsecureSecret> {
        BTreeMap::from([(
            "DB".to_owned(),
            InsecureSecret {
                secret_name: "postgres".into(),
                secret_data: BTreeMap::from([
                    ("username".into(), "postgres".into()),
                    ("password".into(), "s3cret".into()),
                ]),
            },
        )])
    }

    #[test]
    fn insecure_secrets_are_found_by_secret_name_not_entry_name() {
        let store = InsecureSecretStore::new(&configured());
        let secret = store.get("postgres").unwrap();
        assert_eq!(secret["username"], "postgres");
        assert!(store.get("DB").is_none());
        assert!(store.get("missing").is_none());
    }

    #[test]
    fn stored_secrets_shadow_configured_ones() {
        let store = InsecureSecretStore::new(&configured());
        store
            .set(
                "postgres",
                HashMap::from([("username".into(), "other".into())]),
            )
            .unwrap();
        assert_eq!(store.get("postgres").unwrap()["username"], "other");
        store
            .set("mqtt-bus", HashMap::from([("username".into(), "u".into())]))
            .unwrap();
        assert_eq!(
            store.names(),
            vec!["mqtt-bus".to_owned(), "postgres".to_owned()]
        );
    }

    #[test]
    fn empty_names_and_data_are_rejected() {
        let store = InsecureSecretStore::new(&BTreeMap::new());
        assert_eq!(store.set("", HashMap::new()), Err(SecretError::EmptyName));
        assert_eq!(
            store.set("x", HashMap::new()),
            Err(SecretError::EmptyData("x".into()))
        );
    }

    #[test]
    fn debug_output_shows_names_only() {
        let store = InsecureSecretStore::new(&configured());
        let shown = format!("{store:?}");
        assert!(shown.contains("postgres"));
        assert!(!shown.contains("s3cret"));
    }
}
