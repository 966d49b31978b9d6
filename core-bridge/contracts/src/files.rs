//! Device profile, device definition and provision watcher files.
//!
//! * Profile files: one [`DeviceProfile`] per YAML or JSON file.
//! * Device files: YAML with a top-level `deviceList:` array, or JSON that is a bare array.
//! * Provision watcher files: one [`ProvisionWatcher`] per YAML or JSON file.
//!
//! Directory loading considers `*.yaml`, `*.yml` and `*.json` (extension case-insensitive) and
//! skips everything else, including `*.json.example` / `*.yaml.example` templates; such files can
//! still be loaded one by one, their format taken from the name before `.example`.
//!
//! A file that cannot be used yields a [`FileError`] naming the file, the line and column (when
//! known) and the field path, e.g.
//! `profiles/x.yaml:12:7: deviceResources[0].properties.valueType: unknown value type "Flot32"`.
//! Validation ([`crate::validate`]) errors carry the location of the offending YAML/JSON node
//! (or its nearest present ancestor).
//!
//! Unknown keys are accepted, as EdgeX's Go services ignore them, and reported in
//! [`Loaded::unknown_keys`] so a linter can flag typos. Keys are matched exactly (Go's JSON
//! decoder matches case-insensitively; the one upstream example relying on that,
//! `discoveredDevice.Properties`, is accepted through an alias).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

use crate::dtos::{Device, DeviceProfile, ProvisionWatcher};
use crate::validate::{
    ValidationError, join_path, validate_device, validate_profile, validate_provision_watcher,
};

/// Text format of a definition file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// JSON (`.json`).
    Json,
}

impl FileFormat {
    /// Format from the file name: `.yaml`/`.yml`/`.json`, optionally followed by `.example`.
    pub fn from_path(path: &Path) -> Option<FileFormat> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".example").unwrap_or(&name);
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            Some(FileFormat::Yaml)
        } else if name.ends_with(".json") {
            Some(FileFormat::Json)
        } else {
            None
        }
    }

    /// Format of a file directory loading picks up (`.example` templates excluded).
    fn for_directory_entry(path: &Path) -> Option<FileFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "yaml" | "yml" => Some(FileFormat::Yaml),
            "json" => Some(FileFormat::Json),
            _ => None,
        }
    }
}

/// What went wrong with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileErrorKind {
    /// The file or directory could not be read.
    Io,
    /// The text is not valid YAML/JSON or does not fit the expected shape.
    Decode,
    /// The content decodes but breaks a contract rule.
    Invalid,
}

/// A definition file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file (or directory).
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// Field path such as `deviceResources[0].properties.valueType`; empty when not applicable.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// Error class.
    pub kind: FileErrorKind,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for FileError {}

impl From<FileError> for crate::EdgeXError {
    fn from(e: FileError) -> Self {
        match e.kind {
            FileErrorKind::Io => crate::EdgeXError::new(crate::ErrorKind::IoError, e.to_string()),
            _ => crate::EdgeXError::contract_invalid(e.to_string()),
        }
    }
}

/// A key present in a file that the contract does not know (ignored on load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// Field path of the key, e.g. `deviceResources[0].properties.type`.
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
}

/// A successfully loaded file.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<T> {
    /// The file it came from.
    pub file: PathBuf,
    /// The content.
    pub value: T,
    /// Keys that were ignored (warnings for a linter).
    pub unknown_keys: Vec<UnknownKey>,
}

/// Result of loading a directory: every good file, and an error for every bad one.
#[derive(Debug, Clone, PartialEq)]
pub struct DirLoad<T> {
    /// Files that loaded, in file-name order.
    pub loaded: Vec<Loaded<T>>,
    /// Files that did not, in file-name order.
    pub errors: Vec<FileError>,
}

// ---------------------------------------------------------------------------------------------
// Location tree: where each node of a YAML/JSON document sits, for mapping field paths to lines.

#[derive(Debug)]
enum LocNode {
    Scalar,
    Seq(Vec<Spanned<LocNode>>),
    Map(Vec<(String, Spanned<LocNode>)>),
}

struct AnyKey(String);

impl<'de> Deserialize<'de> for AnyKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AnyKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AnyKey, E> {
                Ok(AnyKey(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AnyKey, E> {
                Ok(AnyKey(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AnyKey, E> {
                Ok(AnyKey(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<AnyKey, E> {
                Ok(AnyKey(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AnyKey, E> {
                Ok(AnyKey(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<AnyKey, E> {
                Ok(AnyKey(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for LocNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LocNode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<LocNode, E> {
                Ok(LocNode::Scalar)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<LocNode, E> {
                Ok(LocNode::Scalar)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<LocNode, E> {
                Ok(LocNode::Scalar)
            }
            fn visit_i128<E: de::Error>(self, _: i128) -> Result<LocNode, E> {
                Ok(LocNode::Scalar)
            }
            fn visit_u128<E: de::Error>(self, _: u128) -> Result<LocNode, E> {
                Ok(LocNode::Scalar)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<LocNode, E> {
                Ok(LocNode::Scalar)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<LocNode, E> {
                Ok(LocNode::Scalar)
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<LocNode, E> {
                Ok(LocNode::Scalar)
            }
            fn visit_unit<E: de::Error>(self) -> Result<LocNode, E> {
                Ok(LocNode::Scalar)
            }
            fn visit_none<E: de::Error>(self) -> Result<LocNode, E> {
                Ok(LocNode::Scalar)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<LocNode, D::Error> {
                LocNode::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<LocNode, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(LocNode::Seq(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<LocNode, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = a.next_entry::<AnyKey, Spanned<LocNode>>()? {
                    v.push((k.0, x));
                }
                Ok(LocNode::Map(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !cur.is_empty() {
                    out.push(Segment::Key(std::mem::take(&mut cur)));
                }
            }
            '[' => {
                if !cur.is_empty() {
                    out.push(Segment::Key(std::mem::take(&mut cur)));
                }
                let mut idx = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    idx.push(d);
                }
                match idx.parse() {
                    Ok(i) => out.push(Segment::Index(i)),
                    Err(_) => out.push(Segment::Key(idx)),
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(Segment::Key(cur));
    }
    out
}

/// Parsed document locations; `None` when the text could not be parsed for locations.
struct Locator(Option<Spanned<LocNode>>);

impl Locator {
    fn new(text: &str) -> Self {
        Locator(serde_saphyr::from_str::<Spanned<LocNode>>(text).ok())
    }

    /// Line/column of the node at `path`, or of its deepest existing ancestor.
    fn locate(&self, path: &str) -> (Option<u64>, Option<u64>) {
        let Some(root) = &self.0 else {
            return (None, None);
        };
        let mut node = root;
        for seg in parse_path(path) {
            let next = match (&node.value, &seg) {
                (LocNode::Map(entries), Segment::Key(k)) => {
                    entries.iter().find(|(key, _)| key == k).map(|(_, v)| v)
                }
                (LocNode::Seq(items), Segment::Index(i)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        let loc = node.referenced;
        (Some(loc.line()), Some(loc.column()))
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding with field paths and unknown-key collection.

fn render_ignored(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path as P;
    match path {
        P::Root => String::new(),
        P::Seq { parent, index } => format!("{}[{index}]", render_ignored(parent)),
        P::Map { parent, key } => join_path(&render_ignored(parent), key),
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            render_ignored(parent)
        }
    }
}

fn render_tracked(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment as S;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            S::Seq { index } => out.push_str(&format!("[{index}]")),
            S::Map { key } => out = join_path(&out, key),
            S::Enum { variant } => out = join_path(&out, variant),
            S::Unknown => {}
        }
    }
    out
}

fn strip_suffix_owned(msg: String, suffix: &str) -> String {
    match msg.strip_suffix(suffix) {
        Some(s) => s.to_owned(),
        None => msg,
    }
}

struct Decoded<T> {
    value: T,
    unknown: Vec<String>,
}

fn decode<T: DeserializeOwned>(
    text: &str,
    format: FileFormat,
    file: &Path,
) -> Result<Decoded<T>, FileError> {
    let mut unknown = Vec::new();
    let mut err_path = String::new();
    let fail = |line, column, path: String, message: String| FileError {
        file: file.to_owned(),
        line,
        column,
        path,
        message,
        kind: FileErrorKind::Decode,
    };
    match format {
        FileFormat::Yaml => {
            let mut opts = serde_saphyr::Options::default();
            opts.with_snippet = false;
            let result = serde_saphyr::with_deserializer_from_str_with_options(text, opts, |de| {
                let mut track = serde_path_to_error::Track::new();
                let tracked = serde_path_to_error::Deserializer::new(de, &mut track);
                let r = serde_ignored::deserialize(tracked, |p| unknown.push(render_ignored(&p)));
                if r.is_err() {
                    err_path = render_tracked(&track.path());
                }
                r
            });
            match result {
                Ok(value) => Ok(Decoded { value, unknown }),
                Err(e) => {
                    let loc = e.location();
                    let mut msg = e.to_string();
                    if let Some(l) = loc {
                        msg = strip_suffix_owned(
                            msg,
                            &format!(" at line {}, column {}", l.line(), l.column()),
                        );
                    }
                    Err(fail(
                        loc.map(|l| l.line()),
                        loc.map(|l| l.column()),
                        err_path,
                        msg,
                    ))
                }
            }
        }
        FileFormat::Json => {
            let mut de = serde_json::Deserializer::from_str(text);
            let mut track = serde_path_to_error::Track::new();
            let result = {
                let tracked = serde_path_to_error::Deserializer::new(&mut de, &mut track);
                serde_ignored::deserialize(tracked, |p| unknown.push(render_ignored(&p)))
            };
            let result = result.and_then(|v| de.end().map(|()| v));
            match result {
                Ok(value) => Ok(Decoded { value, unknown }),
                Err(e) => {
                    let (line, col) = (e.line() as u64, e.column() as u64);
                    let msg =
                        strip_suffix_owned(e.to_string(), &format!(" at line {line} column {col}"));
                    Err(fail(
                        (line > 0).then_some(line),
                        (line > 0).then_some(col),
                        render_tracked(&track.path()),
                        msg,
                    ))
                }
            }
        }
    }
}

/// Line and column (1-based) of the YAML/JSON node at field path `path` (for example
/// `deviceResources[2].attributes.startingAddress`) in `text`, or of its deepest existing
/// ancestor; `(None, None)` when the text does not parse.
pub fn locate(text: &str, path: &str) -> (Option<u64>, Option<u64>) {
    Locator::new(text).locate(path)
}

fn finish<T>(
    text: &str,
    file: &Path,
    decoded: Decoded<T>,
    validation: Result<(), ValidationError>,
) -> Result<Loaded<T>, FileError> {
    let needs_locations = validation.is_err() || !decoded.unknown.is_empty();
    let locator = if needs_locations {
        Locator::new(text)
    } else {
        Locator(None)
    };
    if let Err(v) = validation {
        let (line, column) = locator.locate(&v.path);
        return Err(FileError {
            file: file.to_owned(),
            line,
            column,
            path: v.path,
            message: v.message,
            kind: FileErrorKind::Invalid,
        });
    }
    let unknown_keys = decoded
        .unknown
        .into_iter()
        .map(|path| {
            let (line, column) = locator.locate(&path);
            UnknownKey { path, line, column }
        })
        .collect();
    Ok(Loaded {
        file: file.to_owned(),
        value: decoded.value,
        unknown_keys,
    })
}

// ---------------------------------------------------------------------------------------------
// Public parse/load API.

/// Parses and validates a device profile from `text`; `file` names the source in errors.
/// `valueType` is matched case-insensitively and normalised.
pub fn parse_profile(
    text: &str,
    format: FileFormat,
    file: &Path,
) -> Result<Loaded<DeviceProfile>, FileError> {
    let decoded: Decoded<DeviceProfile> = decode(text, format, file)?;
    let validation = validate_profile(&decoded.value);
    finish(text, file, decoded, validation)
}

#[derive(Deserialize)]
struct DeviceListFile {
    #[serde(rename = "deviceList")]
    device_list: Vec<Device>,
}

/// Parses and validates a device definition file: YAML `deviceList: [...]` or a bare JSON array.
/// `serviceName` is not required (the loading service sets it).
pub fn parse_devices(
    text: &str,
    format: FileFormat,
    file: &Path,
) -> Result<Loaded<Vec<Device>>, FileError> {
    let (decoded, prefix) = match format {
        FileFormat::Yaml => {
            let d: Decoded<DeviceListFile> = decode(text, format, file)?;
            (
                Decoded {
                    value: d.value.device_list,
                    unknown: d.unknown,
                },
                "deviceList",
            )
        }
        FileFormat::Json => (decode::<Vec<Device>>(text, format, file)?, ""),
    };
    let validation = decoded.value.iter().enumerate().try_for_each(|(i, d)| {
        validate_device(d, false).map_err(|e| e.under(&format!("{prefix}[{i}]")))
    });
    finish(text, file, decoded, validation)
}

/// Parses and validates a provision watcher file.
pub fn parse_provision_watcher(
    text: &str,
    format: FileFormat,
    file: &Path,
) -> Result<Loaded<ProvisionWatcher>, FileError> {
    let decoded: Decoded<ProvisionWatcher> = decode(text, format, file)?;
    let validation = validate_provision_watcher(&decoded.value);
    finish(text, file, decoded, validation)
}

fn read(file: &Path) -> Result<(String, FileFormat), FileError> {
    let io = |message: String| FileError {
        file: file.to_owned(),
        line: None,
        column: None,
        path: String::new(),
        message,
        kind: FileErrorKind::Io,
    };
    let format = FileFormat::from_path(file)
        .ok_or_else(|| io("not a .yaml, .yml or .json file".to_owned()))?;
    let text = std::fs::read_to_string(file).map_err(|e| io(e.to_string()))?;
    Ok((text, format))
}

/// Loads one profile file (format from its name; `.example` suffix allowed).
pub fn load_profile_file(file: &Path) -> Result<Loaded<DeviceProfile>, FileError> {
    let (text, format) = read(file)?;
    parse_profile(&text, format, file)
}

/// Loads one device definition file.
pub fn load_device_file(file: &Path) -> Result<Loaded<Vec<Device>>, FileError> {
    let (text, format) = read(file)?;
    parse_devices(&text, format, file)
}

/// Loads one provision watcher file.
pub fn load_provision_watcher_file(file: &Path) -> Result<Loaded<ProvisionWatcher>, FileError> {
    let (text, format) = read(file)?;
    parse_provision_watcher(&text, format, file)
}

/// The `.yaml`/`.yml`/`.json` files directly inside `dir`, sorted by name.
pub fn definition_files(dir: &Path) -> Result<Vec<PathBuf>, FileError> {
    let io = |message: String| FileError {
        file: dir.to_owned(),
        line: None,
        column: None,
        path: String::new(),
        message,
        kind: FileErrorKind::Io,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(e.to_string()))? {
        let path = entry.map_err(|e| io(e.to_string()))?.path();
        if path.is_file() && FileFormat::for_directory_entry(&path).is_some() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn load_dir<T>(
    dir: &Path,
    load: impl Fn(&Path) -> Result<Loaded<T>, FileError>,
    names: impl Fn(&T) -> Vec<String>,
    what: &str,
) -> Result<DirLoad<T>, FileError> {
    let mut result = DirLoad {
        loaded: Vec::new(),
        errors: Vec::new(),
    };
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for file in definition_files(dir)? {
        match load(&file) {
            Ok(l) => {
                let dup = names(&l.value)
                    .into_iter()
                    .find_map(|n| seen.get(&n).map(|first| (n, first.clone())));
                if let Some((name, first)) = dup {
                    result.errors.push(FileError {
                        file: file.clone(),
                        line: None,
                        column: None,
                        path: String::new(),
                        message: format!("{what} {name} is already defined in {}", first.display()),
                        kind: FileErrorKind::Invalid,
                    });
                    continue;
                }
                for n in names(&l.value) {
                    seen.insert(n, file.clone());
                }
                result.loaded.push(l);
            }
            Err(e) => result.errors.push(e),
        }
    }
    Ok(result)
}

/// Loads every profile file in `dir`. A bad file (or one repeating an earlier profile name)
/// goes to [`DirLoad::errors`] without stopping the others.
pub fn load_profiles_dir(dir: &Path) -> Result<DirLoad<DeviceProfile>, FileError> {
    load_dir(dir, load_profile_file, |p| vec![p.name.clone()], "profile")
}

/// Loads every device definition file in `dir`; device names must be unique across files.
pub fn load_devices_dir(dir: &Path) -> Result<DirLoad<Vec<Device>>, FileError> {
    load_dir(
        dir,
        load_device_file,
        |ds| ds.iter().map(|d| d.name.clone()).collect(),
        "device",
    )
}

/// Loads every provision watcher file in `dir`.
pub fn load_provision_watchers_dir(dir: &Path) -> Result<DirLoad<ProvisionWatcher>, FileError> {
    load_dir(
        dir,
        load_provision_watcher_file,
        |w| vec![w.name.clone()],
        "provision watcher",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ValueType;

    const PROFILE: &str = "\
name: P
deviceResources:
  - name: a
    properties:
      valueType: float32
      readWrite: R
  - name: b
    properties:
      valueType: Flot32
      readWrite: R
";

    fn p(name: &str) -> PathBuf {
        PathBuf::from(name)
    }

    #[test]
    fn unknown_value_type_is_reported_with_file_line_column_and_field_path() {
        let e = parse_profile(PROFILE, FileFormat::Yaml, &p("profiles/x.yaml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "profiles/x.yaml:9:18: deviceResources[1].properties.valueType: unknown value type \"Flot32\""
        );
        assert_eq!(e.kind, FileErrorKind::Decode);
    }

    #[test]
    fn value_types_are_normalised_on_load() {
        let ok = PROFILE.replace("Flot32", "INT8");
        let l = parse_profile(&ok, FileFormat::Yaml, &p("x.yaml")).unwrap();
        let vts: Vec<_> = l
            .value
            .device_resources
            .iter()
            .map(|r| r.properties.value_type)
            .collect();
        assert_eq!(vts, [ValueType::Float32, ValueType::Int8]);
    }

    #[test]
    fn validation_errors_point_at_the_offending_node() {
        let dup = PROFILE
            .replace("name: b", "name: a")
            .replace("Flot32", "Int8");
        let e = parse_profile(&dup, FileFormat::Yaml, &p("d.yaml")).unwrap_err();
        assert_eq!(e.kind, FileErrorKind::Invalid);
        assert_eq!(
            e.to_string(),
            "d.yaml:7:11: deviceResources[1].name: device resource a is duplicated"
        );
    }

    #[test]
    fn json_errors_carry_json_line_and_path() {
        let text = "{\"name\": \"P\",\n \"deviceResources\": [{\"name\": \"a\", \"properties\": {\"valueType\": \"Bool\", \"readWrite\": \"X\"}}]}";
        let e = parse_profile(text, FileFormat::Json, &p("p.json")).unwrap_err();
        assert_eq!(e.path, "deviceResources[0].properties.readWrite");
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().starts_with("p.json:2:"), "{e}");
    }

    #[test]
    fn json_validation_errors_are_located_too() {
        let text = "{\"name\": \"P\",\n \"deviceCommands\": [\n  {\"name\": \"c\", \"readWrite\": \"R\",\n   \"resourceOperations\": [{\"deviceResource\": \"missing\"}]}]}";
        let e = parse_profile(text, FileFormat::Json, &p("p.json")).unwrap_err();
        assert_eq!(e.kind, FileErrorKind::Invalid);
        assert_eq!(
            e.path,
            "deviceCommands[0].resourceOperations[0].deviceResource"
        );
        assert_eq!(e.line, Some(4), "{e}");
    }

    #[test]
    fn unknown_keys_are_accepted_and_listed_with_locations() {
        let text = "name: P\nmodle: M\ndeviceResources:\n  - name: a\n    properties: {valueType: Bool, readWrite: R, unit: C}\n";
        let l = parse_profile(text, FileFormat::Yaml, &p("u.yaml")).unwrap();
        let keys: Vec<_> = l
            .unknown_keys
            .iter()
            .map(|k| (k.path.as_str(), k.line))
            .collect();
        assert_eq!(
            keys,
            [
                ("modle", Some(2)),
                ("deviceResources[0].properties.unit", Some(5))
            ]
        );
    }

    #[test]
    fn yaml_device_files_need_device_list_and_json_ones_are_arrays() {
        let y = "deviceList:\n  - name: D\n    protocols: {other: {Address: a, Port: 300}}\n";
        let l = parse_devices(y, FileFormat::Yaml, &p("d.yaml")).unwrap();
        assert_eq!(l.value[0].protocols["other"]["Port"], 300);
        let e = parse_devices("- name: D\n", FileFormat::Yaml, &p("d.yaml")).unwrap_err();
        assert_eq!(e.kind, FileErrorKind::Decode);
        let j = r#"[{"name":"D","protocols":{"other":{"Address":"a"}}}]"#;
        assert_eq!(
            parse_devices(j, FileFormat::Json, &p("d.json"))
                .unwrap()
                .value
                .len(),
            1
        );
        let bad = "deviceList:\n  - name: D\n    protocols: {o: {}}\n    autoEvents:\n      - {interval: 1y, sourceName: s}\n";
        let e = parse_devices(bad, FileFormat::Yaml, &p("d.yaml")).unwrap_err();
        assert_eq!(e.path, "deviceList[0].autoEvents[0].interval");
        assert_eq!(e.line, Some(5));
    }

    #[test]
    fn formats_come_from_names_and_directories_skip_examples() {
        assert_eq!(
            FileFormat::from_path(&p("a.JSON.example")),
            Some(FileFormat::Json)
        );
        assert_eq!(FileFormat::from_path(&p("a.yml")), Some(FileFormat::Yaml));
        assert_eq!(FileFormat::from_path(&p("a.toml")), None);
        assert_eq!(FileFormat::for_directory_entry(&p("a.json.example")), None);
        assert_eq!(
            FileFormat::for_directory_entry(&p("a.YAML")),
            Some(FileFormat::Yaml)
        );
    }

    #[test]
    fn field_paths_parse_into_segments() {
        assert_eq!(
            parse_path("a[0].b.c[12]"),
            vec![
                Segment::Key("a".into()),
                Segment::Index(0),
                Segment::Key("b".into()),
                Segment::Key("c".into()),
                Segment::Index(12)
            ]
        );
        assert_eq!(
            parse_path("[3].x"),
            vec![Segment::Index(3), Segment::Key("x".into())]
        );
    }
}
