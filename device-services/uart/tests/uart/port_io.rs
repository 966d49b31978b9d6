//! Reads, writes, framing, request/response, timeouts and port loss through the driver.

use std::collections::BTreeMap;
use std::time::Duration;

use device_uart::{SerialSettings, UartAttributes, UartDriver, UartError, UartValue, ValueType};
use serde_json::{Value, json};

use crate::harness::{Instrument, PtyPair};

pub(crate) fn attrs(v: Value) -> UartAttributes {
    let m: BTreeMap<String, Value> = serde_json::from_value(v).unwrap();
    UartAttributes::from_attributes(&m).unwrap()
}

fn upstream_attrs() -> UartAttributes {
    attrs(json!({"type": "generic", "maxbytes": 160, "timeout": 1}))
}

fn query(q: &str, timeout_ms: u64) -> UartAttributes {
    attrs(json!({
        "type": "generic", "encoding": "utf8", "request": q, "suffix": "\n",
        "delimiter": "\r\n", "timeout": format!("{timeout_ms}ms")
    }))
}

struct Rig {
    pair: PtyPair,
    inst: Instrument,
    driver: UartDriver,
    settings: SerialSettings,
}

async fn rig() -> Rig {
    let pair = PtyPair::start().await;
    let inst = Instrument::start(&pair.b()).await;
    let settings = SerialSettings::new(pair.a_str(), 115200);
    Rig {
        pair,
        inst,
        driver: UartDriver::new(),
        settings,
    }
}

impl Rig {
    /// Opens the port with a harmless write so bytes the instrument sends next are buffered.
    async fn open_port(&mut self) {
        let a = upstream_attrs();
        self.driver
            .write(&self.settings, &a, &UartValue::String("00".into()))
            .await
            .unwrap();
        assert_eq!(self.inst.received(1).await, [0]);
    }

    async fn read(&self, a: &UartAttributes, vt: ValueType) -> Result<UartValue, UartError> {
        self.driver.read(&self.settings, a, vt).await
    }
}

#[tokio::test]
async fn string_read_answers_lowercase_hex_of_what_the_instrument_sent() {
    let mut r = rig().await;
    r.open_port().await;
    r.inst.send(b"abcdef").await;
    let v = r.read(&upstream_attrs(), ValueType::String).await.unwrap();
    assert_eq!(v, UartValue::String("616263646566".into()));
}

#[tokio::test]
async fn int16_read_parses_the_hex_of_the_received_bytes() {
    let mut r = rig().await;
    r.open_port().await;
    r.inst.send(&[0x01, 0x2c]).await;
    let v = r.read(&upstream_attrs(), ValueType::Int16).await.unwrap();
    assert_eq!(v, UartValue::Int16(300));
}

#[tokio::test]
async fn string_write_sends_the_bytes_of_the_hex_text() {
    let mut r = rig().await;
    let a = upstream_attrs();
    r.driver
        .write(&r.settings, &a, &UartValue::String("3132333435".into()))
        .await
        .unwrap();
    assert_eq!(r.inst.received(5).await, b"12345");
    r.driver
        .write(&r.settings, &a, &UartValue::Int16(-2))
        .await
        .unwrap();
    assert_eq!(r.inst.received(2).await, [0xff, 0xfe]);
    r.driver
        .write(&r.settings, &a, &UartValue::Int8(7))
        .await
        .unwrap();
    assert_eq!(r.inst.received(1).await, [7]);
}

#[tokio::test]
async fn bad_hex_write_is_refused_before_touching_the_port() {
    let r = rig().await;
    let err = r
        .driver
        .write(
            &r.settings,
            &upstream_attrs(),
            &UartValue::String("xyz".into()),
        )
        .await
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
}

#[tokio::test]
async fn request_response_reads_the_answer_up_to_the_delimiter() {
    let r = rig().await;
    let v = r
        .read(&query("*IDN?", 2000), ValueType::String)
        .await
        .unwrap();
    assert_eq!(v, UartValue::String("ACME,METER,1234".into()));
    let v = r
        .read(&query("MEAS?", 2000), ValueType::Float64)
        .await
        .unwrap();
    assert_eq!(v, UartValue::Float64(23.5));
}

#[tokio::test]
async fn response_length_ends_a_binary_answer_and_drops_trailing_bytes() {
    let r = rig().await;
    let a =
        attrs(json!({"type": "generic", "request": "01 03", "responseLength": 5, "timeout": 2}));
    let v = r.read(&a, ValueType::String).await.unwrap();
    assert_eq!(v, UartValue::String("010302002a".into()));
    // The trailing ff ff was discarded, so the next answer starts clean.
    let v = r.read(&a, ValueType::Binary).await.unwrap();
    assert_eq!(v, UartValue::Binary(vec![1, 3, 2, 0, 0x2a]));
}

#[tokio::test]
async fn inter_byte_gap_ends_an_unframed_read() {
    let r = rig().await;
    let a = attrs(json!({
        "type": "generic", "encoding": "utf8", "request": "GAP?", "suffix": "\n",
        "interByteTimeout": 100, "timeout": 3
    }));
    let v = r.read(&a, ValueType::String).await.unwrap();
    assert_eq!(v, UartValue::String("ab".into()));
}

#[tokio::test]
async fn maxbytes_caps_a_reading() {
    let mut r = rig().await;
    r.open_port().await;
    r.inst.send(b"0123456789").await;
    let a = attrs(json!({"type": "generic", "encoding": "utf8", "maxbytes": 4, "timeout": 1}));
    assert_eq!(
        r.read(&a, ValueType::String).await.unwrap(),
        UartValue::String("0123".into())
    );
}

#[tokio::test]
async fn silent_instrument_times_out_instead_of_blocking_forever() {
    let r = rig().await;
    let err = r
        .read(&query("SLOW?", 200), ValueType::String)
        .await
        .unwrap_err();
    assert!(matches!(err, UartError::Timeout { .. }), "{err}");
    assert!(!err.is_link_failure());
    // Upstream blocked forever when `timeout` was 0; here 0 means the 1 s default.
    let a = attrs(json!({"type": "generic", "timeout": 0}));
    let err = r.read(&a, ValueType::String).await.unwrap_err();
    assert!(matches!(err, UartError::Timeout { timeout, .. } if timeout == Duration::from_secs(1)));
}

#[tokio::test]
async fn frame_without_its_delimiter_is_reported_incomplete() {
    let r = rig().await;
    let err = r
        .read(&query("PART?", 300), ValueType::String)
        .await
        .unwrap_err();
    match err {
        UartError::Incomplete {
            received, preview, ..
        } => {
            assert_eq!(received, 2);
            assert_eq!(preview, "3132");
        }
        other => panic!("expected incomplete frame, got {other}"),
    }
}

#[tokio::test]
async fn overlapping_commands_queue_instead_of_returning_empty_data() {
    let r = rig().await;
    let idn = query("*IDN?", 3000);
    let meas = query("MEAS?", 3000);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (driver, settings) = (r.driver.clone(), r.settings.clone());
        let a = if i % 2 == 0 {
            idn.clone()
        } else {
            meas.clone()
        };
        tasks.push(tokio::spawn(async move {
            driver.read(&settings, &a, ValueType::String).await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let v = t.await.unwrap().unwrap();
        let want = if i % 2 == 0 {
            "ACME,METER,1234"
        } else {
            "23.5"
        };
        assert_eq!(v, UartValue::String(want.into()), "command {i}");
    }
}

#[tokio::test]
async fn port_that_cannot_open_is_a_device_error_and_is_retried_on_next_use() {
    let mut pair = PtyPair::unplugged();
    let driver = UartDriver::new();
    let settings = SerialSettings::new(pair.a_str(), 9600);
    let idn = query("*IDN?", 2000);
    let err = driver
        .read(&settings, &idn, ValueType::String)
        .await
        .unwrap_err();
    assert!(matches!(err, UartError::Open { .. }), "{err}");
    assert!(err.is_link_failure());

    pair.plug().await;
    let _inst = Instrument::start(&pair.b()).await;
    let v = driver
        .read(&settings, &idn, ValueType::String)
        .await
        .unwrap();
    assert_eq!(v, UartValue::String("ACME,METER,1234".into()));
}

#[tokio::test]
async fn port_that_disappears_and_comes_back_is_reopened() {
    let Rig {
        mut pair,
        inst,
        driver,
        settings,
    } = rig().await;
    let idn = query("*IDN?", 2000);
    assert!(
        driver
            .read(&settings, &idn, ValueType::String)
            .await
            .is_ok()
    );

    // Unplugged and replugged between two commands: the stale port is reopened transparently.
    inst.stop().await;
    pair.unplug().await;
    pair.plug().await;
    let inst = Instrument::start(&pair.b()).await;
    let v = driver
        .read(&settings, &idn, ValueType::String)
        .await
        .unwrap();
    assert_eq!(v, UartValue::String("ACME,METER,1234".into()));

    // Unplugged: a link error, not a panic or a hang.
    inst.stop().await;
    pair.unplug().await;
    let err = driver
        .read(&settings, &idn, ValueType::String)
        .await
        .unwrap_err();
    assert!(err.is_link_failure(), "{err}");

    // Back again: the next command opens it.
    pair.plug().await;
    let _inst = Instrument::start(&pair.b()).await;
    let v = driver
        .read(&settings, &idn, ValueType::String)
        .await
        .unwrap();
    assert_eq!(v, UartValue::String("ACME,METER,1234".into()));
}
