//! A real in-memory protocol driver: values live in a map per (device, resource). A device whose
//! `other.Address` is `unreachable` fails with a link error; `refuse` makes the device say no;
//! `slow-first` takes [`SLOW_FIRST_READ`] to answer its first read and answers at once after that.

use std::collections::HashMap;
use std::sync::Mutex;

use edgex_contracts::{Device, ValueType};
use edgex_device_sdk::{
    CommandRequest, CommandValue, DiscoveredDevice, DriverContext, DriverError, ProtocolDriver,
    Protocols, Value,
};

/// How long the first read of a `slow-first` device takes.
pub(crate) const SLOW_FIRST_READ: std::time::Duration = std::time::Duration::from_millis(520);

#[derive(Debug, Default)]
pub(crate) struct VirtualDriver {
    values: Mutex<HashMap<(String, String), Value>>,
    /// `slow-first` devices whose slow first read has happened.
    slowed: Mutex<Vec<String>>,
    pub(crate) ctx: Mutex<Option<DriverContext>>,
    pub(crate) added: Mutex<Vec<String>>,
}

fn address(p: &Protocols) -> String {
    p.get("other")
        .and_then(|o| o.get("Address"))
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

fn initial(t: ValueType) -> Value {
    match t {
        ValueType::Bool => Value::Bool(false),
        ValueType::Int32 => Value::Int32(0),
        ValueType::Int16 => Value::Int16(0),
        ValueType::Uint16 => Value::Uint16(0),
        ValueType::Float32 => Value::Float32(0.0),
        ValueType::Float64 => Value::Float64(0.0),
        ValueType::Binary => Value::Binary(vec![0xFF, 0xD8, 0xFF]),
        ValueType::Object => Value::Object(serde_json::json!({"count": 0})),
        ValueType::StringArray => Value::StringArray(vec![]),
        ValueType::Uint8Array => Value::Uint8Array(vec![]),
        _ => Value::String(String::new()),
    }
}

impl VirtualDriver {
    fn check(&self, p: &Protocols) -> Result<(), DriverError> {
        match address(p).as_str() {
            "unreachable" => Err(DriverError::Link("connection refused".into())),
            "refuse" => Err(DriverError::DeviceRejected(
                "exception 2 (illegal data address)".into(),
            )),
            _ => Ok(()),
        }
    }

    pub(crate) fn set(&self, device: &str, resource: &str, v: Value) {
        self.values
            .lock()
            .unwrap()
            .insert((device.into(), resource.into()), v);
    }

    pub(crate) fn get(&self, device: &str, resource: &str) -> Option<Value> {
        self.values
            .lock()
            .unwrap()
            .get(&(device.into(), resource.into()))
            .cloned()
    }
}

impl ProtocolDriver for VirtualDriver {
    async fn initialize(&self, ctx: DriverContext) -> Result<(), DriverError> {
        *self.ctx.lock().unwrap() = Some(ctx);
        Ok(())
    }

    async fn handle_read_commands(
        &self,
        device_name: &str,
        protocols: &Protocols,
        requests: &[CommandRequest],
    ) -> Result<Vec<CommandValue>, DriverError> {
        self.check(protocols)?;
        if address(protocols) == "slow-first" {
            let first = {
                let mut slowed = self.slowed.lock().unwrap();
                let first = !slowed.iter().any(|d| d == device_name);
                if first {
                    slowed.push(device_name.to_owned());
                }
                first
            };
            if first {
                tokio::time::sleep(SLOW_FIRST_READ).await;
            }
        }
        let values = self.values.lock().unwrap();
        Ok(requests
            .iter()
            .map(|r| {
                let v = values
                    .get(&(device_name.to_owned(), r.resource_name.clone()))
                    .cloned()
                    .unwrap_or_else(|| initial(r.value_type));
                CommandValue::new(r.resource_name.clone(), v)
            })
            .collect())
    }

    async fn handle_write_commands(
        &self,
        device_name: &str,
        protocols: &Protocols,
        requests: &[CommandRequest],
        values: &[CommandValue],
    ) -> Result<(), DriverError> {
        self.check(protocols)?;
        let mut store = self.values.lock().unwrap();
        for (r, v) in requests.iter().zip(values) {
            if let Some(v) = &v.value {
                store.insert((device_name.to_owned(), r.resource_name.clone()), v.clone());
            }
        }
        Ok(())
    }

    async fn add_device(&self, device: &Device) -> Result<(), DriverError> {
        self.added.lock().unwrap().push(device.name.clone());
        Ok(())
    }

    async fn discover(&self) -> Result<Vec<DiscoveredDevice>, DriverError> {
        let protocols = |addr: &str, port: u16| -> Protocols {
            [(
                "other".to_owned(),
                [
                    ("Address".to_owned(), serde_json::json!(addr)),
                    ("Port".to_owned(), serde_json::json!(port)),
                ]
                .into_iter()
                .collect(),
            )]
            .into_iter()
            .collect()
        };
        Ok(vec![
            DiscoveredDevice {
                name: "Discovered-1".into(),
                protocols: protocols("simple07", 305),
                ..Default::default()
            },
            // Blocked by the watcher's blockingIdentifiers (Port 399).
            DiscoveredDevice {
                name: "Discovered-2".into(),
                protocols: protocols("simple08", 399),
                ..Default::default()
            },
            // No identifier match.
            DiscoveredDevice {
                name: "Discovered-3".into(),
                protocols: protocols("other", 305),
                ..Default::default()
            },
        ])
    }

    async fn validate_device(&self, device: &Device) -> Result<(), DriverError> {
        if device.protocols.contains_key("other") {
            Ok(())
        } else {
            Err(DriverError::Invalid("protocol `other` is required".into()))
        }
    }
}
