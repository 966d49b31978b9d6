//! core-command: REST proxy to a device service (query passed on, CBOR re-emitted as JSON), core-command
//! listings, and the message-bus proxy.

use std::time::Duration;

use edgex_test_support::spawn_python;
use rumqttc::QoS;
use serde_json::json;

use crate::common::{Core, call, device, mqtt, next_matching, profile};

/// A device-service REST stand-in: GET answers CBOR echoing the raw query, PUT echoes the JSON body.
const DS: &str = r#"
import http.server, json, struct
def cb(v):
    def head(major, n):
        if n < 24: return bytes([major << 5 | n])
        if n < 256: return bytes([major << 5 | 24, n])
        return bytes([major << 5 | 25]) + struct.pack('>H', n)
    if isinstance(v, bool): return b'\xf5' if v else b'\xf4'
    if isinstance(v, int): return head(0, v)
    if isinstance(v, str):
        b = v.encode(); return head(3, len(b)) + b
    if isinstance(v, dict):
        return head(5, len(v)) + b''.join(cb(k) + cb(x) for k, x in v.items())
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        q = self.path.split('?', 1)[1] if '?' in self.path else ''
        body = cb({'apiVersion': 'v3', 'statusCode': 200, 'query': q, 'path': self.path.split('?')[0]})
        self.send_response(200); self.send_header('Content-Type', 'application/cbor')
        self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_PUT(self):
        n = int(self.headers.get('Content-Length', 0)); got = json.loads(self.rfile.read(n))
        body = json.dumps({'apiVersion': 'v3', 'statusCode': 200, 'got': got}).encode()
        self.send_response(200); self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
s = http.server.HTTPServer(('127.0.0.1', 0), H)
print('READY port=%d' % s.server_address[1], flush=True)
s.serve_forever()
"#;

#[tokio::test]
async fn rest_commands_are_proxied_to_the_owning_device_service() {
    let mut ds = spawn_python(DS, &[]).unwrap();
    let port = ds.wait_ready_port(Duration::from_secs(10)).await.unwrap();
    let c = Core::ephemeral().await;
    let svc = json!({"apiVersion":"v3","service":{"name":"ds1","baseAddress":format!("http://127.0.0.1:{port}"),"adminState":"UNLOCKED"}});
    call(
        c.http
            .post(c.metadata("/deviceservice"))
            .json(&json!([svc])),
    )
    .await;
    call(
        c.http
            .post(c.metadata("/deviceprofile"))
            .json(&json!([profile("P1")])),
    )
    .await;
    call(
        c.http
            .post(c.metadata("/device?bypassValidation=true"))
            .json(&json!([device("D1", "ds1", "P1")])),
    )
    .await;

    let (st, b) = call(
        c.http
            .get(c.command("/device/name/D1/Temp?ds-pushevent=true&unit=C")),
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["query"], "ds-pushevent=true&unit=C");
    assert_eq!(b["path"], "/api/v3/device/name/D1/Temp");
    let (st, b) = call(
        c.http
            .put(c.command("/device/name/D1/Switch"))
            .json(&json!({"Switch":"true"})),
    )
    .await;
    assert_eq!((st, b["got"]["Switch"].as_str()), (200, Some("true")));
    let (st, _) = call(
        c.http
            .get(c.command("/device/name/D1/Temp?ds-returnevent=maybe")),
    )
    .await;
    assert_eq!(st, 400);
    let (st, _) = call(c.http.get(c.command("/device/name/Nope/Temp"))).await;
    assert_eq!(st, 404);
    let (st, _) = call(c.http.put(c.command("/device/name/D1/Switch")).body("[1]")).await;
    assert_eq!(st, 400);

    let (_, b) = call(c.http.get(c.command("/device/name/D1"))).await;
    let names: Vec<&str> = b["deviceCoreCommand"]["coreCommands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["All", "Temp", "Switch"]);
    let (_, b) = call(c.http.get(c.command("/device/all"))).await;
    assert_eq!(b["totalCount"], 1);
    ds.kill().await;
}

#[tokio::test]
async fn bus_commands_are_forwarded_to_the_device_service_and_answered_to_the_caller() {
    let c = Core::ephemeral().await;
    let port = c.core.broker.unwrap().port();
    call(
        c.http
            .post(c.metadata("/deviceservice"))
            .json(&json!([crate::common::service("ds1")])),
    )
    .await;
    call(
        c.http
            .post(c.metadata("/device?bypassValidation=true"))
            .json(&json!([device("D1", "ds1", "")])),
    )
    .await;

    // Device service side: answer every command request with an event-shaped payload.
    let (ds, mut ds_rx) = mqtt(port, &["edgex/device/command/request/ds1/#"]).await;
    tokio::spawn(async move {
        while let Some((topic, env)) = ds_rx.recv().await {
            let rid = env["requestID"].as_str().unwrap_or("").to_string();
            let reply = json!({"apiVersion":"v3","correlationID":env["correlationID"],"requestID":rid,"errorCode":0,
                "payload":{"apiVersion":"v3","statusCode":200,"topic":topic},"contentType":"application/json"});
            ds.publish(
                format!("edgex/response/ds1/{rid}"),
                QoS::AtMostOnce,
                false,
                reply.to_string(),
            )
            .await
            .unwrap();
        }
    });
    let (app, mut app_rx) = mqtt(port, &["edgex/response/core-command/#"]).await;
    let send = |rid: &str, topic: &str| {
        let env = json!({"apiVersion":"v3","correlationID":"c1","requestID":rid,"errorCode":0,"payload":null,
            "contentType":"application/json","queryParams":{"ds-returnevent":"true"}});
        let (app, topic) = (app.clone(), topic.to_string());
        async move {
            app.publish(topic, QoS::AtMostOnce, false, env.to_string())
                .await
                .unwrap()
        }
    };
    send(
        "11111111-2222-3333-4444-555555555555",
        "edgex/core/command/request/D1/Temp/get",
    )
    .await;
    let (t, reply) = next_matching(&mut app_rx, |t| t.ends_with("555555555555")).await;
    assert_eq!(
        t,
        "edgex/response/core-command/11111111-2222-3333-4444-555555555555"
    );
    assert_eq!(reply["errorCode"], 0);
    assert_eq!(
        reply["payload"]["topic"],
        "edgex/device/command/request/ds1/D1/Temp/get"
    );

    send(
        "11111111-2222-3333-4444-666666666666",
        "edgex/core/command/request/Ghost/Temp/get",
    )
    .await;
    let (_, reply) = next_matching(&mut app_rx, |t| t.ends_with("666666666666")).await;
    assert_eq!(
        (reply["errorCode"].as_i64(), reply["contentType"].as_str()),
        (Some(1), Some("text/plain"))
    );

    send(
        "11111111-2222-3333-4444-777777777777",
        "edgex/core/commandquery/request/all",
    )
    .await;
    let (_, reply) = next_matching(&mut app_rx, |t| t.ends_with("777777777777")).await;
    assert_eq!(reply["payload"]["totalCount"], 1);
}
