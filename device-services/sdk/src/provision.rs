//! Start-up provisioning: load device profiles, devices and provision watchers from
//! `Device.ProfilesDir`/`DevicesDir`/`ProvisionWatchersDir` (a directory, or an `http(s)` URI of a
//! JSON index) and upload the ones core-metadata does not have yet.

use std::path::Path;
use std::sync::Arc;

use edgex_contracts::files::{self, FileFormat};
use edgex_contracts::{AdminState, Device, DeviceProfile, OperatingState, ProvisionWatcher};

use crate::sdk::Sdk;

/// A definition file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Unreadable file or directory.
    #[error("{path}: {message}")]
    Io {
        /// File or directory.
        path: String,
        /// Cause.
        message: String,
    },
    /// Malformed content (the message carries line/column where the parser reports them).
    #[error("{path}: {message}")]
    Parse {
        /// File or URI.
        path: String,
        /// Cause.
        message: String,
    },
    /// core-metadata refused the upload.
    #[error("core-metadata refused {what}: {message}")]
    Rejected {
        /// What was uploaded.
        what: String,
        /// Why.
        message: String,
    },
}

fn is_uri(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn format_of(path: &str) -> FileFormat {
    if path.to_ascii_lowercase().ends_with(".json") {
        FileFormat::Json
    } else {
        FileFormat::Yaml
    }
}

fn file_error(e: edgex_contracts::files::FileError) -> ProvisionError {
    ProvisionError::Parse {
        path: e.file.to_string_lossy().into_owned(),
        message: e.to_string(),
    }
}

fn parse_profile(path: &str, text: &str) -> Result<DeviceProfile, ProvisionError> {
    files::parse_profile(text, format_of(path), Path::new(path))
        .map(|l| l.value)
        .map_err(file_error)
}

fn parse_watcher(path: &str, text: &str) -> Result<ProvisionWatcher, ProvisionError> {
    files::parse_provision_watcher(text, format_of(path), Path::new(path))
        .map(|l| l.value)
        .map_err(file_error)
}

fn definition_files(dir: &str) -> Result<Vec<String>, ProvisionError> {
    files::definition_files(Path::new(dir))
        .map(|v| {
            v.into_iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        })
        .map_err(file_error)
}

async fn fetch(http: &reqwest::Client, uri: &str) -> Result<String, ProvisionError> {
    let err = |m: String| ProvisionError::Io {
        path: uri.to_owned(),
        message: m,
    };
    let resp = http.get(uri).send().await.map_err(|e| err(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(err(format!("HTTP {}", resp.status())));
    }
    resp.text().await.map_err(|e| err(e.to_string()))
}

fn join_uri(index: &str, file: &str) -> String {
    match index.rfind('/') {
        Some(i) => format!("{}/{file}", &index[..i]),
        None => file.to_owned(),
    }
}

/// Loads `(source, text)` of every definition under `location` (directory or index URI).
async fn sources(location: &str) -> Result<Vec<(String, String)>, ProvisionError> {
    if location.is_empty() {
        return Ok(Vec::new());
    }
    if is_uri(location) {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        let index_text = fetch(&http, location).await?;
        let index: serde_json::Value =
            serde_json::from_str(&index_text).map_err(|e| ProvisionError::Parse {
                path: location.to_owned(),
                message: format!("line {} column {}: {e}", e.line(), e.column()),
            })?;
        let files: Vec<String> = match index {
            serde_json::Value::Object(m) => m
                .values()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => {
                return Err(ProvisionError::Parse {
                    path: location.to_owned(),
                    message: "index must be a JSON object or array of file names".into(),
                });
            }
        };
        let mut out = Vec::new();
        for f in files {
            let uri = join_uri(location, &f);
            let text = fetch(&http, &uri).await?;
            out.push((uri, text));
        }
        return Ok(out);
    }
    if !Path::new(location).exists() {
        tracing::warn!(
            dir = location,
            "definition directory does not exist; nothing to load"
        );
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for f in definition_files(location)? {
        let text = std::fs::read_to_string(&f).map_err(|e| ProvisionError::Io {
            path: f.clone(),
            message: e.to_string(),
        })?;
        out.push((f, text));
    }
    Ok(out)
}

/// Loads devices of one file: YAML `deviceList:` or a JSON array.
pub(crate) fn parse_devices(path: &str, text: &str) -> Result<Vec<Device>, ProvisionError> {
    files::parse_devices(text, format_of(path), Path::new(path))
        .map(|l| l.value)
        .map_err(file_error)
}

impl Sdk {
    /// Uploads profiles core-metadata lacks and caches every loaded profile.
    pub(crate) async fn provision_profiles(&self) -> Result<(), ProvisionError> {
        let mut to_add = Vec::new();
        for (path, text) in sources(&self.config.device.profiles_dir).await? {
            let profile = parse_profile(&path, &text)?;
            if profile.name.is_empty() {
                return Err(ProvisionError::Parse {
                    path,
                    message: "profile name is required".into(),
                });
            }
            match self.metadata.profile(&profile.name).await {
                Ok(Some(existing)) => self.cache.put_profile(existing),
                Ok(None) => to_add.push(profile),
                Err(e) => {
                    return Err(ProvisionError::Rejected {
                        what: format!("profile {}", profile.name),
                        message: e.to_string(),
                    });
                }
            }
        }
        if to_add.is_empty() {
            return Ok(());
        }
        let items = self
            .metadata
            .add_profiles(to_add.clone())
            .await
            .map_err(|e| ProvisionError::Rejected {
                what: "profiles".into(),
                message: e.to_string(),
            })?;
        for (p, item) in to_add.into_iter().zip(items) {
            match item.status_code {
                201 | 409 => {
                    tracing::info!(profile = %p.name, status = item.status_code, "profile provisioned");
                    self.cache.put_profile(p);
                }
                s => {
                    return Err(ProvisionError::Rejected {
                        what: format!("profile {}", p.name),
                        message: format!("status {s}: {}", item.message),
                    });
                }
            }
        }
        Ok(())
    }

    /// Adds devices not yet known, owned by this service, UNLOCKED and UP.
    pub(crate) async fn provision_devices(self: &Arc<Self>) -> Result<(), ProvisionError> {
        let mut to_add = Vec::new();
        for (path, text) in sources(&self.config.device.devices_dir).await? {
            for mut d in parse_devices(&path, &text)? {
                if d.name.is_empty() {
                    return Err(ProvisionError::Parse {
                        path: path.clone(),
                        message: "device name is required".into(),
                    });
                }
                if self.cache.device(&d.name).is_some() {
                    continue;
                }
                d.service_name.clone_from(&self.service_name);
                d.admin_state = AdminState::Unlocked;
                d.operating_state = OperatingState::Up;
                to_add.push(d);
            }
        }
        if to_add.is_empty() {
            return Ok(());
        }
        let items = self
            .metadata
            .add_devices(to_add.clone())
            .await
            .map_err(|e| ProvisionError::Rejected {
                what: "devices".into(),
                message: e.to_string(),
            })?;
        for (d, item) in to_add.into_iter().zip(items) {
            match item.status_code {
                201 => {
                    tracing::info!(device = %d.name, "device provisioned");
                    let mut d = d;
                    d.id = item.id;
                    // Known at once; core-metadata's device/add system event refreshes it.
                    let _ = self.adopt_device(d, true).await;
                }
                409 => {
                    tracing::warn!(device = %d.name, "device already exists (owned by another instance?)")
                }
                s => {
                    return Err(ProvisionError::Rejected {
                        what: format!("device {}", d.name),
                        message: format!("status {s}: {}", item.message),
                    });
                }
            }
        }
        Ok(())
    }

    /// Uploads provision watchers core-metadata lacks.
    pub(crate) async fn provision_watchers(&self) -> Result<(), ProvisionError> {
        let mut to_add = Vec::new();
        for (path, text) in sources(&self.config.device.provision_watchers_dir).await? {
            let mut w = parse_watcher(&path, &text)?;
            if w.service_name.is_empty() {
                w.service_name.clone_from(&self.service_name);
            }
            match self.metadata.watcher(&w.name).await {
                Ok(Some(existing)) => {
                    if let Ok(mut m) = self.cache.watchers.write() {
                        m.insert(existing.name.clone(), existing);
                    }
                }
                Ok(None) => to_add.push(w),
                Err(e) => {
                    return Err(ProvisionError::Rejected {
                        what: format!("watcher {}", w.name),
                        message: e.to_string(),
                    });
                }
            }
        }
        if to_add.is_empty() {
            return Ok(());
        }
        let items = self
            .metadata
            .add_watchers(to_add.clone())
            .await
            .map_err(|e| ProvisionError::Rejected {
                what: "provision watchers".into(),
                message: e.to_string(),
            })?;
        for (w, item) in to_add.into_iter().zip(items) {
            if matches!(item.status_code, 201 | 409) {
                if let Ok(mut m) = self.cache.watchers.write() {
                    m.insert(w.name.clone(), w);
                }
            } else {
                tracing::warn!(watcher = %w.name, status = item.status_code, message = %item.message, "provision watcher not added");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_files_load_as_yaml_device_list_or_json_array() {
        let y = "deviceList:\n  - name: A\n    profileName: P\n    protocols:\n      other:\n        Port: 300\n";
        assert_eq!(parse_devices("x.yml", y).unwrap()[0].name, "A");
        let j = r#"[{"name":"B","protocols":{}}]"#;
        assert_eq!(parse_devices("x.json", j).unwrap()[0].name, "B");
        let err = parse_devices("bad.json", "[{").unwrap_err().to_string();
        assert!(err.contains("bad.json:1:"), "names file and line: {err}");
    }

    #[test]
    fn index_entries_resolve_next_to_the_index() {
        assert_eq!(
            join_uri("http://h/p/index.json", "a.yaml"),
            "http://h/p/a.yaml"
        );
    }
}
