//! An in-memory model of a GPIO chip's character device, implementing `GpioBackend` the way the
//! kernel's uAPI behaves (a line can be requested once; outputs drive a level; inputs follow
//! the outside world; edge detection reports level changes), and the service driver over it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use device_gpio::{
    Direction, Edge, EdgeEvent, EdgeSink, EdgeWatch, GpioBackend, GpioError, GpioProtocolDriver,
    LineSpec,
};
use edgex_device_sdk::{
    CommandRequest, CommandValue, DriverContext, ProtocolDriver, Value, ValueType,
};
use serde_json::{Value as Json, json};
use tokio::sync::mpsc;

#[derive(Default)]
struct ModelLine {
    direction: Option<Direction>,
    active_low: bool,
    /// Physical level.
    level: bool,
    edge: Option<Edge>,
    sink: Option<EdgeSink>,
    claimed: bool,
}

impl std::fmt::Debug for ChipModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChipModel")
    }
}

/// The chip: lines by offset, shared with the test.
#[derive(Clone, Default)]
pub(crate) struct ChipModel {
    lines: Arc<Mutex<HashMap<u32, ModelLine>>>,
}

impl std::fmt::Debug for ModelLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelLine")
            .field("direction", &self.direction)
            .field("level", &self.level)
            .finish()
    }
}

impl ChipModel {
    fn claim<'a>(
        &self,
        lines: &'a mut HashMap<u32, ModelLine>,
        spec: &LineSpec,
    ) -> &'a mut ModelLine {
        let l = lines.entry(spec.line).or_default();
        if !l.claimed {
            l.claimed = true;
            l.active_low = spec.active_low;
            if let Some(d) = spec.direction {
                l.direction = Some(d);
                if d == Direction::Out {
                    l.level = spec.active_low; // inactive
                }
            }
        }
        l
    }

    /// The outside world drives an input line to a physical level.
    pub(crate) fn drive(&self, line: u32, level: bool) {
        let (sink, event) = {
            let mut lines = self.lines.lock().unwrap();
            let l = lines.entry(line).or_default();
            if l.direction == Some(Direction::Out) || l.level == level {
                l.level = level;
                return;
            }
            l.level = level;
            let logical = level != l.active_low;
            let event = l.edge.filter(|e| e.reports(logical)).map(|_| EdgeEvent {
                line,
                value: logical,
                timestamp_ns: Some(1),
            });
            (l.sink.clone(), event)
        };
        if let (Some(sink), Some(ev)) = (sink, event) {
            sink(ev);
        }
    }

    pub(crate) fn level(&self, line: u32) -> bool {
        self.lines
            .lock()
            .unwrap()
            .get(&line)
            .is_some_and(|l| l.level)
    }

    pub(crate) fn direction(&self, line: u32) -> Option<Direction> {
        self.lines
            .lock()
            .unwrap()
            .get(&line)
            .and_then(|l| l.direction)
    }
}

impl GpioBackend for ChipModel {
    fn name(&self) -> &'static str {
        "chardev-model"
    }

    fn read(&self, spec: &LineSpec) -> Result<bool, GpioError> {
        let mut lines = self.lines.lock().unwrap();
        let l = self.claim(&mut lines, spec);
        Ok(l.level != l.active_low)
    }

    fn write(&self, spec: &LineSpec, value: bool) -> Result<(), GpioError> {
        let mut lines = self.lines.lock().unwrap();
        let l = self.claim(&mut lines, spec);
        if l.direction != Some(Direction::Out) {
            if spec.direction == Some(Direction::In) || l.edge.is_some() {
                return Err(GpioError::NotOutput(spec.line));
            }
            l.direction = Some(Direction::Out);
        }
        l.level = value != l.active_low;
        Ok(())
    }

    fn watch(&self, spec: &LineSpec, edge: Edge, sink: EdgeSink) -> Result<EdgeWatch, GpioError> {
        let mut lines = self.lines.lock().unwrap();
        let l = self.claim(&mut lines, spec);
        if l.direction == Some(Direction::Out) {
            return Err(GpioError::Invalid("edge events need an input".into()));
        }
        l.direction = Some(Direction::In);
        l.edge = Some(edge);
        l.sink = Some(sink);
        let lines = self.lines.clone();
        let line = spec.line;
        // The watch lives until dropped; dropping it clears the line's edge detection.
        let task = tokio::spawn(async move {
            struct Clear(Arc<Mutex<HashMap<u32, ModelLine>>>, u32);
            impl Drop for Clear {
                fn drop(&mut self) {
                    if let Some(l) = self.0.lock().unwrap().get_mut(&self.1) {
                        l.edge = None;
                        l.sink = None;
                    }
                }
            }
            let _clear = Clear(lines, line);
            std::future::pending::<()>().await;
        });
        Ok(EdgeWatch::new(task))
    }

    fn release_all(&self) {
        self.lines.lock().unwrap().clear();
    }
}

fn request(name: &str, attributes: Json) -> CommandRequest {
    CommandRequest {
        resource_name: name.into(),
        attributes: serde_json::from_value(attributes).unwrap(),
        value_type: ValueType::Bool,
    }
}

async fn service(
    model: &ChipModel,
) -> (
    GpioProtocolDriver,
    mpsc::Receiver<edgex_device_sdk::AsyncValues>,
) {
    let drv = GpioProtocolDriver::with_backend(Arc::new(model.clone()));
    let (tx, rx) = mpsc::channel(16);
    drv.initialize(DriverContext {
        service_name: "device-gpio".into(),
        driver_config: BTreeMap::new(),
        async_values: Some(tx),
        metadata: Default::default(),
    })
    .await
    .unwrap();
    (drv, rx)
}

fn bool_value(name: &str, v: bool) -> CommandValue {
    CommandValue::new(name, Value::Bool(v))
}

#[tokio::test]
async fn writes_drive_the_written_value_not_always_one() {
    // Upstream chardev: the first access failed, later writes always drove 1.
    let model = ChipModel::default();
    let (drv, _rx) = service(&model).await;
    let led = request("LED", json!({"line": 18, "defaultDirection": "out"}));
    let none = BTreeMap::new();
    for v in [true, false, false, true, false] {
        drv.handle_write_commands(
            "Board",
            &none,
            std::slice::from_ref(&led),
            &[bool_value("LED", v)],
        )
        .await
        .unwrap();
        assert_eq!(model.level(18), v);
        let r = drv
            .handle_read_commands("Board", &none, std::slice::from_ref(&led))
            .await
            .unwrap();
        assert_eq!(r[0].value, Some(Value::Bool(v)));
    }
}

#[tokio::test]
async fn multi_resource_write_drives_each_resources_own_line() {
    // Upstream used the first resource's line for every parameter.
    let model = ChipModel::default();
    let (drv, _rx) = service(&model).await;
    let reqs = [
        request("Red", json!({"line": 5})),
        request("Green", json!({"line": 6})),
    ];
    drv.handle_write_commands(
        "Board",
        &BTreeMap::new(),
        &reqs,
        &[bool_value("Red", true), bool_value("Green", false)],
    )
    .await
    .unwrap();
    assert!(model.level(5));
    assert!(!model.level(6));
    assert_eq!(model.direction(6), Some(Direction::Out));
}

#[tokio::test]
async fn active_low_lines_read_and_write_logical_values() {
    let model = ChipModel::default();
    let (drv, _rx) = service(&model).await;
    let relay = request(
        "Relay",
        json!({"line": 9, "defaultDirection": "out", "activeLow": true}),
    );
    drv.handle_write_commands(
        "Board",
        &BTreeMap::new(),
        std::slice::from_ref(&relay),
        &[bool_value("Relay", true)],
    )
    .await
    .unwrap();
    assert!(!model.level(9), "active-low true drives the pin low");
    let r = drv
        .handle_read_commands("Board", &BTreeMap::new(), std::slice::from_ref(&relay))
        .await
        .unwrap();
    assert_eq!(r[0].value, Some(Value::Bool(true)));
}

#[tokio::test]
async fn a_read_never_turns_an_input_into_an_output() {
    let model = ChipModel::default();
    let (drv, _rx) = service(&model).await;
    model.drive(22, true);
    let switch = request("Switch", json!({"line": 22, "defaultDirection": "in"}));
    let r = drv
        .handle_read_commands("Board", &BTreeMap::new(), std::slice::from_ref(&switch))
        .await
        .unwrap();
    assert_eq!(r[0].value, Some(Value::Bool(true)));
    assert_eq!(model.direction(22), Some(Direction::In));
    let err = drv
        .handle_write_commands(
            "Board",
            &BTreeMap::new(),
            std::slice::from_ref(&switch),
            &[bool_value("Switch", false)],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("input"), "{err}");
}

#[tokio::test]
async fn edge_events_become_async_readings_and_stop_when_the_device_goes() {
    let model = ChipModel::default();
    let (drv, mut rx) = service(&model).await;
    let button = request(
        "Button",
        json!({"line": 3, "edge": "falling", "activeLow": false}),
    );
    drv.handle_read_commands("Panel", &BTreeMap::new(), std::slice::from_ref(&button))
        .await
        .unwrap();
    model.drive(3, true); // rising: not reported
    model.drive(3, false); // falling: reported
    let av = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(av.device_name, "Panel");
    assert_eq!(av.source_name, "Button");
    assert_eq!(av.values[0].value, Some(Value::Bool(false)));
    assert!(rx.try_recv().is_err(), "the rising edge was not reported");

    drv.remove_device("Panel", &BTreeMap::new()).await.unwrap();
    // The watch task is aborted; its guard clears the model's edge detection.
    crate::kernel::eventually("watch stopped", || {
        model.drive(3, true);
        model.drive(3, false);
        rx.try_recv().is_err()
    })
    .await;
}

#[tokio::test]
async fn non_bool_resources_are_refused() {
    let model = ChipModel::default();
    let (drv, _rx) = service(&model).await;
    let mut r = request("Level", json!({"line": 1}));
    r.value_type = ValueType::Int8;
    let err = drv
        .handle_read_commands("Board", &BTreeMap::new(), &[r])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Bool"), "{err}");
}
