//! Failure isolation: a device that never answers, or answers late, must not disturb others,
//! and a recovered device is used again without restarting anything.

use std::net::SocketAddr;
use std::time::Duration;

use device_modbus::sim::{SimBind, SimMap, Simulator};
use device_modbus::{ModbusError, ModbusValue, Transport};
use serde_json::json;
use tokio::net::TcpListener;

use crate::common::{read, res, tcp_device};

const MAP: &str = "holdingRegisters:\n  - {address: 0, type: Int16, value: 7}\n";

/// Accepts connections and never answers; returns the listener task.
async fn black_hole() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    (addr, task)
}

#[tokio::test]
async fn black_holed_endpoint_never_delays_another_endpoint_and_recovers_when_it_answers() {
    let (hole, hole_task) = black_hole().await;
    let sim = Simulator::start(
        &SimMap::from_yaml(MAP).unwrap(),
        SimBind::Tcp {
            addr: "127.0.0.1:0".parse().unwrap(),
            instances: 1,
        },
    )
    .await
    .unwrap();
    let t = Transport::default();
    let r = res("HOLDING_REGISTERS", json!(0), "Int16", json!({}));
    let dead = tcp_device(hole.port(), 1, Duration::from_millis(1200));
    let good_timeout = Duration::from_millis(1000);
    let good = tcp_device(sim.addr().unwrap().port(), 1, good_timeout);

    // Several requests pile up on the dead endpoint.
    let mut stuck = Vec::new();
    for _ in 0..2 {
        let (t, dead, r) = (t.clone(), dead.clone(), r.clone());
        stuck.push(tokio::spawn(async move {
            device_modbus::read_resources(&t, &dead, &[&r], &Default::default()).await
        }));
    }
    // Meanwhile the good device answers within its own timeout, repeatedly.
    for _ in 0..5 {
        let v = tokio::time::timeout(good_timeout, read(&t, &good, &[&r])).await;
        assert_eq!(
            v.expect("good device delayed by the dead one"),
            [ModbusValue::I16(7)]
        );
    }
    for s in stuck {
        let e = s.await.unwrap().unwrap_err();
        assert!(
            matches!(
                e,
                device_modbus::CommandError::Modbus(ModbusError::Timeout { .. })
            ),
            "{e:?}"
        );
    }

    // The dead device comes back on the same port: reads resume.
    hole_task.abort();
    let _ = hole_task.await;
    let revived = Simulator::start(
        &SimMap::from_yaml("holdingRegisters:\n  - {address: 0, type: Int16, value: 42}\n")
            .unwrap(),
        SimBind::Tcp {
            addr: hole,
            instances: 1,
        },
    )
    .await
    .unwrap();
    let v = edgex_test_support::eventually(Duration::from_secs(10), || {
        let (t, dead, r) = (&t, &dead, &r);
        async move { device_modbus::read_resources(t, dead, &[r], &Default::default()).await }
    })
    .await
    .unwrap();
    assert_eq!(v, [ModbusValue::I16(42)]);
    assert!(revived.requests() >= 1);
    t.shutdown();
}

#[tokio::test]
async fn late_reply_is_never_delivered_to_the_next_request() {
    let sim = Simulator::start(
        &SimMap::from_yaml(MAP).unwrap(),
        SimBind::Tcp {
            addr: "127.0.0.1:0".parse().unwrap(),
            instances: 1,
        },
    )
    .await
    .unwrap();
    let t = Transport::default();
    let r = res("HOLDING_REGISTERS", json!(0), "Int16", json!({}));
    let p = tcp_device(sim.addr().unwrap().port(), 1, Duration::from_millis(300));

    sim.set_response_delay(Duration::from_millis(900));
    let e = device_modbus::read_resources(&t, &p, &[&r], &Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            device_modbus::CommandError::Modbus(ModbusError::Timeout { .. })
        ),
        "{e:?}"
    );

    // The device now answers promptly with a new value; the late answer (7) is still on its way
    // on the old connection and must not be taken for this request's answer.
    sim.set_response_delay(Duration::ZERO);
    sim.set_value(0, &r, &ModbusValue::I16(8)).unwrap();
    assert_eq!(read(&t, &p, &[&r]).await, [ModbusValue::I16(8)]);
    // Past the moment the late answer is sent: it must not surface in a later request either.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(read(&t, &p, &[&r]).await, [ModbusValue::I16(8)]);
    t.shutdown();
}
