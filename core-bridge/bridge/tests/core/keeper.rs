//! core-keeper KV and registry round trips.

use base64::Engine;
use serde_json::json;

use crate::common::{Core, call};

#[tokio::test]
async fn kv_put_flatten_then_get_tree_as_base64_plaintext_and_keys() {
    let c = Core::ephemeral().await;
    let (st, body) = call(
        c.http
            .put(c.keeper("/kvs/key/edgex/v4/core-data?flatten=true"))
            .json(&json!({"value": {"MaxEventSize": 25000, "Writable": {"LogLevel": "INFO", "PersistData": true}}})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(body["response"].as_array().unwrap().len(), 3);

    let (st, body) = call(c.http.get(c.keeper("/kvs/key/edgex/v4/core-data/Writable"))).await;
    assert_eq!(st, 200);
    let kv = &body["response"][0];
    assert_eq!(kv["key"], "edgex/v4/core-data/Writable/LogLevel");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(kv["value"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, b"INFO");

    let (_, body) = call(
        c.http
            .get(c.keeper("/kvs/key/edgex/v4/core-data?plaintext=true")),
    )
    .await;
    let max = body["response"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == "edgex/v4/core-data/MaxEventSize")
        .unwrap();
    assert_eq!(max["value"], 25000);

    let (_, body) = call(
        c.http
            .get(c.keeper("/kvs/key/edgex/v4/core-data?keyOnly=true")),
    )
    .await;
    assert_eq!(body["response"][0], "edgex/v4/core-data/MaxEventSize");

    let (st, _) = call(
        c.http
            .put(c.keeper("/kvs/key/edgex/v4/core-data/Writable/LogLevel"))
            .json(&json!({"value": "DEBUG"})),
    )
    .await;
    assert_eq!(st, 200);
    let (_, body) = call(
        c.http
            .get(c.keeper("/kvs/key/edgex/v4/core-data/Writable/LogLevel?plaintext=true")),
    )
    .await;
    assert_eq!(body["response"][0]["value"], "DEBUG");

    let (st, _) = call(
        c.http
            .delete(c.keeper("/kvs/key/edgex/v4/core-data/Writable")),
    )
    .await;
    assert_eq!(st, 404, "exact delete of a non-leaf key finds nothing");
    let (st, body) = call(
        c.http
            .delete(c.keeper("/kvs/key/edgex/v4/core-data/Writable?prefixMatch=true")),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(body["response"].as_array().unwrap().len(), 2);
    let (st, body) = call(c.http.get(c.keeper("/kvs/key/edgex/v4/core-data/Writable"))).await;
    assert_eq!((st, body["statusCode"].as_u64()), (404, Some(404)));
}

#[tokio::test]
async fn common_config_is_served_to_device_services() {
    let c = Core::ephemeral().await;
    let (st, body) = call(c.http.get(c.keeper(
        "/kvs/key/edgex/v4/core-common-config-bootstrapper/device-services/Clients/core-metadata/Port?plaintext=true",
    )))
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        body["response"][0]["value"], "59881",
        "stored as text, like the Go bootstrapper does"
    );
    let (_, body) = call(c.http.get(c.keeper(
        "/kvs/key/edgex/v4/core-common-config-bootstrapper/IsCommonConfigReady?plaintext=true",
    )))
    .await;
    assert_eq!(body["response"][0]["value"], "true");
}

#[tokio::test]
async fn registry_register_update_list_and_deregister() {
    let c = Core::ephemeral().await;
    let reg = |port: u16| {
        json!({"apiVersion":"v3","registration":{"serviceId":"device-simple","status":"UP","host":"127.0.0.1","port":port,
            "healthCheck":{"interval":"10s","path":"/api/v3/ping","type":"http"}}})
    };
    let (st, _) = call(c.http.post(c.keeper("/registry")).json(&reg(59999))).await;
    assert_eq!(st, 201);
    let (st, _) = call(c.http.post(c.keeper("/registry")).json(&reg(59999))).await;
    assert_eq!(st, 409);
    let (st, _) = call(c.http.put(c.keeper("/registry")).json(&reg(60000))).await;
    assert_eq!(st, 204);
    let (_, body) = call(c.http.get(c.keeper("/registry/serviceId/device-simple"))).await;
    assert_eq!(body["registration"]["port"], 60000);
    assert_eq!(body["registration"]["healthCheck"]["path"], "/api/v3/ping");
    let (_, body) = call(c.http.get(c.keeper("/registry/all"))).await;
    assert_eq!(body["totalCount"], 1);
    let (st, _) = call(c.http.delete(c.keeper("/registry/serviceId/device-simple"))).await;
    assert_eq!(st, 204);
    let (_, body) = call(c.http.get(c.keeper("/registry/all"))).await;
    assert_eq!(body["totalCount"], 0);
    let (_, body) = call(c.http.get(c.keeper("/registry/all?deregistered=true"))).await;
    assert_eq!(body["registrations"][0]["status"], "HALT");
    let (st, body) = call(c.http.post(c.keeper("/registry")).body("{not json")).await;
    assert_eq!((st, body["apiVersion"].as_str()), (400, Some("v3")));
}
