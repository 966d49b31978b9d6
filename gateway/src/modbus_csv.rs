//! `profile new --modbus-csv`: a device profile from a register-map table copied out of a datasheet.
//!
//! The table is CSV with a header row naming at least `name`, `table`, `address` and `type`;
//! `scale`, `units`, `access` and `description` are optional. Column names are case-insensitive.
//!
//! * `table`: `holding`/`HR`/`4x`, `input`/`IR`/`3x`, `coil`/`0x`, `discrete`/`DI`/`1x`, or the
//!   EdgeX names (`HOLDING_REGISTERS`, ...).
//! * `address`: the zero-based PDU address, decimal or `0x` hex. Five- or six-digit Modicon
//!   references (`40001`, `300010`) are converted when their leading digit matches the table.
//! * `type`: an EdgeX valueType (`Float32`, `Int16`, `Bool`, ...), case-insensitive.
//! * `access`: `R` (default), `W` or `RW`.
//!
//! The profile gets one resource per row and a read command `Readings` over every readable row,
//! so an AutoEvent can poll the whole map with one grouped Modbus read.

use std::fmt::Write as _;

use edgex_contracts::ValueType;

/// A register-map row that cannot be turned into a resource.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct CsvError {
    /// The CSV file.
    pub file: String,
    /// 1-based line of the row (the header is line 1).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Names for the generated profile.
#[derive(Debug, Clone)]
pub struct ProfileHeader {
    /// Profile name.
    pub name: String,
    /// Manufacturer.
    pub manufacturer: String,
    /// Model.
    pub model: String,
}

struct Row {
    name: String,
    table: &'static str,
    address: u32,
    value_type: ValueType,
    scale: Option<f64>,
    units: String,
    access: &'static str,
    description: String,
}

/// Turn the CSV text of `file` into profile YAML.
pub fn profile_from_csv(
    file: &str,
    text: &str,
    header: &ProfileHeader,
) -> Result<String, CsvError> {
    let err = |line: usize, message: String| CsvError {
        file: file.to_owned(),
        line,
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (hline, head) = lines
        .next()
        .ok_or_else(|| err(1, "the file is empty".into()))?;
    let cols: Vec<String> = split_csv(head)
        .map_err(|m| err(hline, m))?
        .into_iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| cols.iter().position(|c| c == name);
    let need = |name: &str| {
        col(name).ok_or_else(|| err(hline, format!("the header has no {name:?} column")))
    };
    let (c_name, c_table, c_addr, c_type) = (
        need("name")?,
        need("table")?,
        need("address")?,
        need("type")?,
    );
    let (c_scale, c_units, c_access, c_desc) = (
        col("scale"),
        col("units"),
        col("access"),
        col("description"),
    );

    let mut rows = Vec::new();
    for (n, line) in lines {
        let f = split_csv(line).map_err(|m| err(n, m))?;
        let get = |c: Option<usize>| c.and_then(|c| f.get(c)).map(|s| s.trim()).unwrap_or("");
        let name = get(Some(c_name));
        if name.is_empty() {
            return Err(err(n, "name is empty".into()));
        }
        if rows.iter().any(|r: &Row| r.name == name) {
            return Err(err(n, format!("name {name:?} appears twice")));
        }
        let table = parse_table(get(Some(c_table))).map_err(|m| err(n, m))?;
        let address = parse_address(get(Some(c_addr)), table).map_err(|m| err(n, m))?;
        let value_type: ValueType = get(Some(c_type))
            .parse()
            .map_err(|_| err(n, format!("unknown type {:?}", get(Some(c_type)))))?;
        let scale = match get(c_scale) {
            "" => None,
            s => Some(
                s.parse::<f64>()
                    .map_err(|_| err(n, format!("scale {s:?} is not a number")))?,
            ),
        };
        let access = match get(c_access).to_ascii_uppercase().as_str() {
            "" | "R" | "RO" | "READ" => "R",
            "W" | "WO" | "WRITE" => "W",
            "RW" | "WR" | "R/W" | "READ/WRITE" => "RW",
            other => return Err(err(n, format!("access {other:?} is not R, W or RW"))),
        };
        if access != "R" && matches!(table, "INPUT_REGISTERS" | "DISCRETE_INPUTS") {
            return Err(err(n, format!("{table} are read-only in Modbus")));
        }
        rows.push(Row {
            name: name.to_owned(),
            table,
            address,
            value_type,
            scale,
            units: get(c_units).to_owned(),
            access,
            description: get(c_desc).to_owned(),
        });
    }
    if rows.is_empty() {
        return Err(err(hline, "the table has no rows".into()));
    }
    Ok(render(file, header, &rows))
}

fn render(file: &str, h: &ProfileHeader, rows: &[Row]) -> String {
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Generated by `edgex-gateway profile new --modbus-csv {file}`."
    );
    let _ = writeln!(y, "name: {}", quote(&h.name));
    let _ = writeln!(y, "manufacturer: {}", quote(&h.manufacturer));
    let _ = writeln!(y, "model: {}", quote(&h.model));
    let _ = writeln!(y, "labels: [\"modbus\"]");
    let _ = writeln!(
        y,
        "description: {}",
        quote(&format!("Generated from {file}"))
    );
    let _ = writeln!(y, "deviceResources:");
    for r in rows {
        let _ = writeln!(y, "  - name: {}", quote(&r.name));
        if !r.description.is_empty() {
            let _ = writeln!(y, "    description: {}", quote(&r.description));
        }
        let _ = writeln!(
            y,
            "    attributes: {{ primaryTable: \"{}\", startingAddress: {} }}",
            r.table, r.address
        );
        let mut props = format!(
            "valueType: \"{}\", readWrite: \"{}\"",
            r.value_type, r.access
        );
        if !r.units.is_empty() {
            let _ = write!(props, ", units: {}", quote(&r.units));
        }
        if let Some(s) = r.scale {
            let _ = write!(props, ", scale: {s}");
        }
        let _ = writeln!(y, "    properties: {{ {props} }}");
    }
    let readable: Vec<&Row> = rows.iter().filter(|r| r.access != "W").collect();
    if !readable.is_empty() {
        let _ = writeln!(y, "deviceCommands:");
        let _ = writeln!(y, "  - name: \"Readings\"");
        let _ = writeln!(y, "    readWrite: \"R\"");
        let _ = writeln!(y, "    resourceOperations:");
        for r in readable {
            let _ = writeln!(y, "      - {{ deviceResource: {} }}", quote(&r.name));
        }
    }
    y
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn parse_table(t: &str) -> Result<&'static str, String> {
    Ok(
        match t
            .trim()
            .to_ascii_lowercase()
            .replace([' ', '-'], "_")
            .as_str()
        {
            "holding" | "hr" | "4x" | "holding_register" | "holding_registers" => {
                "HOLDING_REGISTERS"
            }
            "input" | "ir" | "3x" | "input_register" | "input_registers" => "INPUT_REGISTERS",
            "coil" | "coils" | "0x" => "COILS",
            "discrete" | "di" | "1x" | "discrete_input" | "discrete_inputs" | "discretes_input" => {
                "DISCRETE_INPUTS"
            }
            other => {
                return Err(format!(
                    "unknown table {other:?} (holding, input, coil or discrete)"
                ));
            }
        },
    )
}

fn parse_address(a: &str, table: &str) -> Result<u32, String> {
    let a = a.trim();
    let value = if let Some(hex) = a.strip_prefix("0x").or_else(|| a.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).map_err(|_| format!("address {a:?} is not a number"))?
    } else {
        let v: u32 = a
            .parse()
            .map_err(|_| format!("address {a:?} is not a number"))?;
        let lead = match table {
            "COILS" => '0',
            "DISCRETE_INPUTS" => '1',
            "INPUT_REGISTERS" => '3',
            _ => '4',
        };
        if (a.len() == 5 || a.len() == 6) && a.starts_with(lead) && lead != '0' {
            let base = 10u32.pow(a.len() as u32 - 1) * lead.to_digit(10).unwrap_or(0);
            v.checked_sub(base + 1)
                .ok_or_else(|| format!("Modicon reference {a} has no register 0"))?
        } else {
            v
        }
    };
    if value > 65535 {
        return Err(format!("address {a} is beyond 65535"));
    }
    Ok(value)
}

/// Split one CSV line: comma-separated, fields optionally in double quotes with `""` escapes.
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
            }
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    out.push(cur);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> ProfileHeader {
        ProfileHeader {
            name: "Meter".into(),
            manufacturer: "Acme".into(),
            model: "M1".into(),
        }
    }

    #[test]
    fn a_datasheet_table_becomes_a_profile_that_loads_and_lints_clean() {
        let csv = "name,table,address,type,scale,units,access,description\n\
                   Voltage,input,30001,Float32,,V,R,\"Line voltage, L-N\"\n\
                   Current,IR,0x0006,float32,,A,,\n\
                   Setpoint,holding,40011,Int16,,Cel,RW,\n\
                   Relay,coil,0,Bool,,,RW,\n";
        let yaml = profile_from_csv("map.csv", csv, &header()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("meter.yaml");
        std::fs::write(&file, &yaml).unwrap();
        let p = edgex_contracts::files::load_profile_file(&file)
            .unwrap()
            .value;
        assert_eq!(p.device_resources.len(), 4);
        assert_eq!(
            p.device_resources[0].attributes["startingAddress"],
            serde_json::json!(0)
        );
        assert_eq!(
            p.device_resources[1].attributes["startingAddress"],
            serde_json::json!(6)
        );
        assert_eq!(
            p.device_resources[2].attributes["startingAddress"],
            serde_json::json!(10)
        );
        assert_eq!(p.device_resources[0].description, "Line voltage, L-N");
        assert_eq!(p.device_commands[0].resource_operations.len(), 4);
        let findings = crate::lint::lint_file(&file, None);
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn a_bad_row_is_reported_with_its_line() {
        let csv = "name,table,address,type\nA,holding,1,Float32\nB,holding,x,Float32\n";
        let e = profile_from_csv("map.csv", csv, &header()).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("address \"x\""), "{e}");
        let e = profile_from_csv(
            "map.csv",
            "name,table,address,type\nA,input,1,Int16\nB,input,2,Flaot\n",
            &header(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("map.csv:3: unknown type"), "{e}");
    }

    #[test]
    fn writable_input_registers_are_refused() {
        let e = profile_from_csv(
            "m.csv",
            "name,table,address,type,access\nA,input,1,Int16,RW\n",
            &header(),
        )
        .unwrap_err();
        assert!(e.message.contains("read-only"), "{e}");
    }
}
