//! `profile lint`: checks device profiles and device files the way a reviewer would.
//!
//! Errors are what EdgeX itself would refuse (the contract checks of `edgex-contracts`, a driver's
//! attribute parser). Warnings are authoring mistakes that load fine but misbehave at run time:
//! a fractional `scale` on an integer value type (every reading becomes `"overflow"`), a misspelled
//! driver attribute (silently ignored), Modbus resources whose registers overlap.
//!
//! Every finding is reported as `file:line:column: severity: field.path: message`; the line and
//! column come from the YAML/JSON node named by the field path.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use edgex_contracts::files::{self, FileError, UnknownKey};
use edgex_contracts::{DeviceProfile, ValueType};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Loads, but probably not what the author meant.
    Warning,
    /// EdgeX or the driver refuses it.
    Error,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// Warning or error.
    pub severity: Severity,
    /// Field path, e.g. `deviceResources[2].attributes.startingAdress`.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, ": {sev}: ")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// The protocol whose attributes a profile uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// device-modbus.
    Modbus,
    /// device-uart.
    Uart,
    /// device-gpio.
    Gpio,
}

impl Driver {
    fn known_attributes(self) -> &'static [&'static str] {
        match self {
            Driver::Modbus => device_modbus::attributes::KNOWN_ATTRIBUTES,
            Driver::Uart => device_uart::attributes::KNOWN_ATTRIBUTES,
            Driver::Gpio => device_gpio::attributes::KNOWN_ATTRIBUTES,
        }
    }

    /// Guess the driver from the attribute names a profile uses.
    fn detect(profile: &DeviceProfile) -> Option<Driver> {
        let has = |k: &str| {
            profile
                .device_resources
                .iter()
                .any(|r| r.attributes.keys().any(|a| a.eq_ignore_ascii_case(k)))
        };
        if has("primaryTable") || has("startingAddress") {
            Some(Driver::Modbus)
        } else if has("line") {
            Some(Driver::Gpio)
        } else if has("maxbytes") || has("type") {
            Some(Driver::Uart)
        } else {
            None
        }
    }
}

/// Lint one file (profile or device list) and return its findings.
pub fn lint_file(file: &Path, driver: Option<Driver>) -> Vec<Finding> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            return vec![Finding {
                file: file.to_owned(),
                line: None,
                column: None,
                severity: Severity::Error,
                path: String::new(),
                message: format!("cannot read: {e}"),
            }];
        }
    };
    let at = |path: &str, severity: Severity, message: String| {
        let (line, column) = files::locate(&text, path);
        Finding {
            file: file.to_owned(),
            line,
            column,
            severity,
            path: path.to_owned(),
            message,
        }
    };
    if looks_like_device_file(file, &text) {
        return match files::load_device_file(file) {
            Ok(loaded) => unknown_key_findings(file, &loaded.unknown_keys),
            Err(e) => vec![from_file_error(e)],
        };
    }
    let loaded = match files::load_profile_file(file) {
        Ok(l) => l,
        Err(e) => return vec![from_file_error(e)],
    };
    let profile = &loaded.value;
    let mut out = unknown_key_findings(file, &loaded.unknown_keys);

    for (i, r) in profile.device_resources.iter().enumerate() {
        let p = &r.properties;
        if let Some(scale) = p.scale
            && is_integer(p.value_type)
            && scale.fract() != 0.0
        {
            out.push(at(
                &format!("deviceResources[{i}].properties.scale"),
                Severity::Warning,
                format!(
                    "fractional scale {scale} on integer valueType {}: readings that are not whole numbers \
                     after scaling become \"overflow\"; use valueType Float32 (with a Modbus rawType) instead",
                    p.value_type
                ),
            ));
        }
    }

    let Some(driver) = driver.or_else(|| Driver::detect(profile)) else {
        return out;
    };
    let known = driver.known_attributes();
    for (i, r) in profile.device_resources.iter().enumerate() {
        for key in r.attributes.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let hint = closest(key, known)
                .map(|k| format!("; did you mean {k:?}?"))
                .unwrap_or_default();
            out.push(at(
                &format!("deviceResources[{i}].attributes.{key}"),
                Severity::Warning,
                format!("unknown {driver:?} attribute {key:?} is ignored by the driver{hint}"),
            ));
        }
    }
    match driver {
        Driver::Modbus => out.extend(modbus_checks(profile, &at)),
        Driver::Uart => {
            for (i, r) in profile.device_resources.iter().enumerate() {
                if let Err(e) =
                    device_uart::attributes::UartAttributes::from_attributes(&r.attributes)
                {
                    out.push(at(
                        &format!("deviceResources[{i}].attributes"),
                        Severity::Error,
                        e.to_string(),
                    ));
                }
            }
        }
        Driver::Gpio => {
            for (i, r) in profile.device_resources.iter().enumerate() {
                if let Err(e) =
                    device_gpio::attributes::LineAttributes::from_attributes(&r.attributes)
                {
                    out.push(at(
                        &format!("deviceResources[{i}].attributes"),
                        Severity::Error,
                        e.to_string(),
                    ));
                }
            }
        }
    }
    out
}

fn modbus_checks(
    profile: &DeviceProfile,
    at: &dyn Fn(&str, Severity, String) -> Finding,
) -> Vec<Finding> {
    use device_modbus::ModbusAttributes;
    let mut out = Vec::new();
    // (table, first, end, resource index, bit) of every parsed register/bit range.
    let mut ranges: Vec<(device_modbus::PrimaryTable, u32, u32, usize, Option<u8>)> = Vec::new();
    for (i, r) in profile.device_resources.iter().enumerate() {
        let attrs: BTreeMap<String, serde_json::Value> = r
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        match ModbusAttributes::parse(&attrs, r.properties.value_type.as_str()) {
            Ok(a) => {
                let first = u32::from(a.address);
                let end = first + u32::from(a.quantity());
                if end > 0x1_0000 {
                    out.push(at(
                        &format!("deviceResources[{i}].attributes.startingAddress"),
                        Severity::Error,
                        format!(
                            "{} {} from address {first} runs past the last Modbus address 65535",
                            a.quantity(),
                            if a.table.is_bits() {
                                "bits"
                            } else {
                                "registers"
                            }
                        ),
                    ));
                }
                if r.properties.read_write.writable() && !a.table.is_writable() {
                    out.push(at(
                        &format!("deviceResources[{i}].properties.readWrite"),
                        Severity::Error,
                        format!(
                            "{} is read-only in Modbus but the resource is {}",
                            a.table.as_str(),
                            r.properties.read_write
                        ),
                    ));
                }
                ranges.push((a.table, first, end, i, a.bit));
            }
            Err(e) => out.push(at(
                &format!("deviceResources[{i}].attributes"),
                Severity::Error,
                e.to_string(),
            )),
        }
    }
    for (n, &(table, first, end, i, bit)) in ranges.iter().enumerate() {
        for &(t2, f2, e2, j, bit2) in &ranges[..n] {
            let same_register_other_bits = bit.is_some() && bit2.is_some() && bit != bit2;
            if t2 == table && first < e2 && f2 < end && !same_register_other_bits {
                out.push(at(
                    &format!("deviceResources[{i}].attributes.startingAddress"),
                    Severity::Warning,
                    format!(
                        "{} {first}..{} overlaps resource {:?} ({f2}..{})",
                        table.as_str(),
                        end - 1,
                        profile.device_resources[j].name,
                        e2 - 1
                    ),
                ));
            }
        }
    }
    out
}

fn is_integer(t: ValueType) -> bool {
    matches!(
        t,
        ValueType::Int8
            | ValueType::Int16
            | ValueType::Int32
            | ValueType::Int64
            | ValueType::Uint8
            | ValueType::Uint16
            | ValueType::Uint32
            | ValueType::Uint64
    )
}

fn looks_like_device_file(file: &Path, text: &str) -> bool {
    let json = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if json {
        text.trim_start().starts_with('[')
    } else {
        text.lines().any(|l| l.starts_with("deviceList:"))
    }
}

fn from_file_error(e: FileError) -> Finding {
    Finding {
        file: e.file,
        line: e.line,
        column: e.column,
        severity: Severity::Error,
        path: e.path,
        message: e.message,
    }
}

fn unknown_key_findings(file: &Path, keys: &[UnknownKey]) -> Vec<Finding> {
    keys.iter()
        .map(|k| Finding {
            file: file.to_owned(),
            line: k.line,
            column: k.column,
            severity: Severity::Warning,
            path: k.path.clone(),
            message: "unknown key is ignored by EdgeX".into(),
        })
        .collect()
}

/// The known name closest to `word` (case-insensitive edit distance at most 3), if any.
fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&w, &k.to_ascii_lowercase()), *k))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint_text(name: &str, text: &str) -> Vec<Finding> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        lint_file(&file, None)
    }

    const HEAD: &str = "name: \"P\"\nmanufacturer: \"m\"\nmodel: \"x\"\ndeviceResources:\n";

    #[test]
    fn fractional_scale_on_an_integer_value_type_is_a_warning_with_its_line() {
        let f = lint_text(
            "p.yaml",
            &format!(
                "{HEAD}  - name: \"T\"\n    attributes: {{ primaryTable: \"INPUT_REGISTERS\", startingAddress: 1 }}\n    properties: {{ valueType: \"Int16\", readWrite: \"R\", scale: 0.1 }}\n"
            ),
        );
        let w = f
            .iter()
            .find(|f| f.path.ends_with("properties.scale"))
            .unwrap();
        assert_eq!(w.severity, Severity::Warning);
        assert_eq!(w.line, Some(7));
        assert!(w.message.contains("overflow"), "{w}");
    }

    #[test]
    fn misspelled_modbus_attribute_gets_a_suggestion() {
        let f = lint_text(
            "p.yaml",
            &format!(
                "{HEAD}  - name: \"T\"\n    attributes: {{ primaryTable: \"HOLDING_REGISTERS\", startingAddress: 1, isWordSwapp: true }}\n    properties: {{ valueType: \"Float32\", readWrite: \"R\" }}\n"
            ),
        );
        let w = f.iter().find(|f| f.path.ends_with("isWordSwapp")).unwrap();
        assert!(w.message.contains("did you mean \"isWordSwap\""), "{w}");
        assert_eq!(w.line, Some(6));
    }

    #[test]
    fn overlapping_registers_are_reported_but_distinct_bits_of_one_register_are_not() {
        let f = lint_text(
            "p.yaml",
            &format!(
                "{HEAD}  - name: \"A\"\n    attributes: {{ primaryTable: \"HOLDING_REGISTERS\", startingAddress: 0 }}\n    properties: {{ valueType: \"Float32\", readWrite: \"R\" }}\n  - name: \"B\"\n    attributes: {{ primaryTable: \"HOLDING_REGISTERS\", startingAddress: 1 }}\n    properties: {{ valueType: \"Int16\", readWrite: \"R\" }}\n  - name: \"C\"\n    attributes: {{ primaryTable: \"HOLDING_REGISTERS\", startingAddress: \"5.1\" }}\n    properties: {{ valueType: \"Bool\", readWrite: \"R\" }}\n  - name: \"D\"\n    attributes: {{ primaryTable: \"HOLDING_REGISTERS\", startingAddress: \"5.2\" }}\n    properties: {{ valueType: \"Bool\", readWrite: \"R\" }}\n"
            ),
        );
        let overlaps: Vec<_> = f
            .iter()
            .filter(|f| f.message.contains("overlaps"))
            .collect();
        assert_eq!(overlaps.len(), 1, "{f:?}");
        assert!(overlaps[0].message.contains("\"A\""));
    }

    #[test]
    fn registers_past_the_address_space_and_writable_input_registers_are_errors() {
        let f = lint_text(
            "p.yaml",
            &format!(
                "{HEAD}  - name: \"A\"\n    attributes: {{ primaryTable: \"HOLDING_REGISTERS\", startingAddress: 65535 }}\n    properties: {{ valueType: \"Float32\", readWrite: \"R\" }}\n  - name: \"B\"\n    attributes: {{ primaryTable: \"INPUT_REGISTERS\", startingAddress: 1 }}\n    properties: {{ valueType: \"Int16\", readWrite: \"RW\" }}\n"
            ),
        );
        assert!(
            f.iter()
                .any(|f| f.severity == Severity::Error && f.message.contains("65535")),
            "{f:?}"
        );
        assert!(
            f.iter()
                .any(|f| f.severity == Severity::Error && f.message.contains("read-only")),
            "{f:?}"
        );
    }

    #[test]
    fn a_command_naming_a_missing_resource_is_an_error() {
        let f = lint_text(
            "p.yaml",
            &format!(
                "{HEAD}  - name: \"A\"\n    attributes: {{ primaryTable: \"HOLDING_REGISTERS\", startingAddress: 0 }}\n    properties: {{ valueType: \"Int16\", readWrite: \"R\" }}\ndeviceCommands:\n  - name: \"C\"\n    readWrite: \"R\"\n    resourceOperations:\n      - {{ deviceResource: \"Missing\" }}\n"
            ),
        );
        assert!(
            f.iter()
                .any(|f| f.severity == Severity::Error && f.message.contains("Missing")),
            "{f:?}"
        );
    }

    #[test]
    fn every_profile_in_the_library_passes_without_errors_or_warnings() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles");
        let mut checked = 0;
        for sub in ["modbus", "uart", "gpio", "devices"] {
            let Ok(entries) = std::fs::read_dir(root.join(sub)) else {
                continue;
            };
            for e in entries {
                let p = e.unwrap().path();
                let f = lint_file(&p, None);
                assert!(f.is_empty(), "{}: {f:#?}", p.display());
                checked += 1;
            }
        }
        assert!(checked >= 8, "only {checked} files checked");
    }
}
