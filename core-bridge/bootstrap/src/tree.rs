//! Configuration trees: YAML parsing into ordered `serde_json::Value` trees, deep merging of layers,
//! key-path helpers and the unknown-key report.
//!
//! Every source (defaults, common config, private file, core-keeper) becomes one tree; layers are
//! merged key by key, later layers winning, before the result is deserialised into the service's
//! typed configuration.

use serde_json::{Map, Value};

/// A key path inside a configuration tree, e.g. `["Clients", "core-metadata", "Host"]`.
pub type KeyPath = Vec<String>;

/// Renders a key path the way EdgeX documentation does: `Clients.core-metadata.Host`.
pub fn display_path(path: &[String]) -> String {
    path.join(".")
}

/// Parses YAML text into a JSON tree, keeping key order. An empty document is an empty mapping.
pub(crate) fn parse_yaml(text: &str) -> Result<Value, String> {
    let value: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    match value {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::Object(_) => Ok(value),
        other => Err(format!(
            "the top level must be a mapping of sections, found {}",
            kind_name(&other)
        )),
    }
}

/// Human name of a JSON value's type, for error messages.
pub(crate) fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Merges `overlay` into `base`: mappings merge key by key, anything else replaces. A `null` in the
/// overlay (a YAML key written without a value) leaves the base value in place.
pub fn deep_merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (_, Value::Null) => {}
        (Value::Object(base_map), Value::Object(overlay_map)) => {
            for (key, value) in overlay_map {
                match base_map.get_mut(&key) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        if !value.is_null() {
                            base_map.insert(key, value);
                        }
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// The value at `path`, if every segment exists.
pub fn get_path<'a>(tree: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter()
        .try_fold(tree, |node, key| node.as_object().and_then(|m| m.get(key)))
}

/// Mutable access to the value at `path`, if every segment exists.
pub fn get_path_mut<'a>(tree: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(tree, |node, key| {
        node.as_object_mut().and_then(|m| m.get_mut(key))
    })
}

/// Every leaf path of a tree in document order. A leaf is any value that is not a mapping; empty
/// mappings contribute no path (they hold no key an override could target).
pub fn leaf_paths(tree: &Value) -> Vec<KeyPath> {
    fn walk(node: &Value, prefix: &mut KeyPath, out: &mut Vec<KeyPath>) {
        match node {
            Value::Object(map) => {
                for (key, child) in map {
                    prefix.push(key.clone());
                    walk(child, prefix, out);
                    prefix.pop();
                }
            }
            _ => out.push(prefix.clone()),
        }
    }
    let mut out = Vec::new();
    if tree.is_object() {
        walk(tree, &mut Vec::new(), &mut out);
    }
    out
}

/// Renames keys of `layer` whose spelling differs only in ASCII case from a key the schema knows
/// (`loglevel` -> `LogLevel`), as Go's case-insensitive decoding accepts them. Returns the renamed
/// paths (schema spelling).
pub(crate) fn normalise_key_case(layer: &mut Value, schema: &Value) -> Vec<KeyPath> {
    fn walk(layer: &mut Value, schema: &Value, prefix: &mut KeyPath, out: &mut Vec<KeyPath>) {
        let (Some(map), Some(schema_map)) = (layer.as_object_mut(), schema.as_object()) else {
            return;
        };
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in keys {
            let target = if schema_map.contains_key(&key) {
                key.clone()
            } else if let Some(known) = schema_map
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&key) && !map.contains_key(*k))
            {
                let known = known.clone();
                if let Some(value) = map.remove(&key) {
                    map.insert(known.clone(), value);
                }
                prefix.push(known.clone());
                out.push(prefix.clone());
                prefix.pop();
                known
            } else {
                continue;
            };
            if let (Some(child), Some(schema_child)) =
                (map.get_mut(&target), schema_map.get(&target))
            {
                prefix.push(target);
                walk(child, schema_child, prefix, out);
                prefix.pop();
            }
        }
    }
    let mut out = Vec::new();
    walk(layer, schema, &mut Vec::new(), &mut out);
    out
}

/// Keys present in `layer` but in none of the `known` trees. Reports the outermost unknown key only
/// (its children are not listed separately).
pub(crate) fn unknown_keys(layer: &Value, known: &[&Value]) -> Vec<KeyPath> {
    fn walk(layer: &Value, known: &[&Value], prefix: &mut KeyPath, out: &mut Vec<KeyPath>) {
        let Some(map) = layer.as_object() else {
            return;
        };
        for (key, child) in map {
            let children: Vec<&Value> = known
                .iter()
                .filter_map(|k| k.as_object().and_then(|m| m.get(key)))
                .collect();
            prefix.push(key.clone());
            if children.is_empty() {
                out.push(prefix.clone());
            } else if children.iter().any(|c| c.is_object()) {
                let objects: Vec<&Value> = children.into_iter().filter(|c| c.is_object()).collect();
                walk(child, &objects, prefix, out);
            }
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    walk(layer, known, &mut Vec::new(), &mut out);
    out
}

/// Finds the 1-based line of a block-style YAML key path in `text`, e.g. the line of `Port:` under
/// `Service:`. Returns `None` for flow-style documents or keys it cannot locate.
pub(crate) fn find_line(text: &str, path: &[String]) -> Option<usize> {
    let mut depth = 0;
    // Indentation of the key matched last, and of the keys directly below it.
    let mut parent_indent: Option<usize> = None;
    let mut child_indent: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if let Some(parent) = parent_indent
            && indent <= parent
        {
            // Left the block of the key matched last: the path is not in this file.
            return None;
        }
        let Some(key) = yaml_key(trimmed) else {
            continue;
        };
        let expected = *child_indent.get_or_insert(indent);
        if indent != expected {
            continue;
        }
        if key == path[depth] {
            if depth + 1 == path.len() {
                return Some(index + 1);
            }
            depth += 1;
            parent_indent = Some(indent);
            child_indent = None;
        }
    }
    None
}

fn yaml_key(trimmed: &str) -> Option<&str> {
    let trimmed = trimmed.strip_prefix("- ").unwrap_or(trimmed);
    let (raw, _) = trimmed.split_once(':')?;
    let key = raw.trim();
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
        .unwrap_or(key);
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> KeyPath {
        s.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn deep_merge_merges_mappings_and_replaces_leaves_and_lists() {
        let mut base = json!({"Service": {"Host": "a", "Port": 1}, "Labels": ["x", "y"]});
        deep_merge(
            &mut base,
            json!({"Service": {"Port": 2, "StartupMsg": "hi"}, "Labels": ["z"]}),
        );
        assert_eq!(
            base,
            json!({"Service": {"Host": "a", "Port": 2, "StartupMsg": "hi"}, "Labels": ["z"]})
        );
    }

    #[test]
    fn null_overlay_keeps_the_base_value() {
        let mut base = json!({"Writable": {"Telemetry": {"Tags": {"a": "b"}}}});
        deep_merge(
            &mut base,
            json!({"Writable": {"Telemetry": {"Tags": null}}}),
        );
        assert_eq!(
            base,
            json!({"Writable": {"Telemetry": {"Tags": {"a": "b"}}}})
        );
    }

    #[test]
    fn yaml_keeps_key_order_and_scalar_types() {
        let tree = parse_yaml("B: 1\nA:\n  Q: \"0\"\n  F: 1.5\n  T: true\n  L: []\n").unwrap();
        let keys: Vec<&String> = tree.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["B", "A"]);
        assert_eq!(tree["A"], json!({"Q": "0", "F": 1.5, "T": true, "L": []}));
    }

    #[test]
    fn a_scalar_document_is_not_a_configuration() {
        assert!(parse_yaml("just text").is_err());
        assert_eq!(parse_yaml("").unwrap(), json!({}));
    }

    #[test]
    fn leaf_paths_skip_empty_mappings_and_treat_lists_as_leaves() {
        let tree = json!({"A": {"B": 1, "C": {}}, "L": [1, 2]});
        assert_eq!(leaf_paths(&tree), vec![p("A.B"), p("L")]);
    }

    #[test]
    fn unknown_keys_report_the_outermost_unknown_key() {
        let known = json!({"Service": {"Host": "", "Port": 0}});
        let layer = json!({"Service": {"Prot": 1, "Host": "h"}, "Extra": {"A": 1}});
        assert_eq!(
            unknown_keys(&layer, &[&known]),
            vec![p("Service.Prot"), p("Extra")]
        );
    }

    #[test]
    fn key_case_is_normalised_to_the_schema_spelling() {
        let schema = json!({"Writable": {"LogLevel": "INFO"}});
        let mut layer = json!({"writable": {"loglevel": "DEBUG"}});
        let renamed = normalise_key_case(&mut layer, &schema);
        assert_eq!(layer, json!({"Writable": {"LogLevel": "DEBUG"}}));
        assert_eq!(renamed, vec![p("Writable"), p("Writable.LogLevel")]);
    }

    #[test]
    fn find_line_follows_block_indentation() {
        let text = "Writable:\n  LogLevel: INFO\n# c\nService:\n  CORS:\n    Port: 7\n  Host: x\n  Port : 59901\nDevice:\n  Port: 1\n";
        assert_eq!(find_line(text, &p("Service.Port")), Some(8));
        assert_eq!(find_line(text, &p("Device.Port")), Some(10));
        assert_eq!(find_line(text, &p("Writable.Port")), None);
    }
}
