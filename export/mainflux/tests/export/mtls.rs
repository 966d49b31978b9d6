//! Connection checks against a broker set up like Mainflux's x509 mode.

use std::time::Duration;

use export_mainflux::mainflux::{LinkError, certificate_cn_warning, probe};

use crate::harness::{MainfluxBroker, THING_ID};

const TIMEOUT: Duration = Duration::from_secs(10);

fn settings(cfg: &export_mainflux::ExportConfig) -> export_mainflux::config::MainfluxSettings {
    cfg.mainflux_settings().unwrap()
}

#[tokio::test]
async fn the_thing_is_accepted_with_its_certificate_and_credentials() {
    let mf = MainfluxBroker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = mf.config(1, &dir.path().join("q.redb"));
    probe(&settings(&cfg), TIMEOUT).await.unwrap();
    assert_eq!(certificate_cn_warning(&settings(&cfg)), None);
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_as_a_tls_error() {
    let mf = MainfluxBroker::start().await;
    let foreign = mf.pki.foreign_client(crate::harness::THING_KEY).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = mf.config(1, &dir.path().join("q.redb"));
    cfg.mainflux.cert_file = foreign.cert_path.display().to_string();
    cfg.mainflux.key_file = foreign.key_path.display().to_string();
    let err = probe(&settings(&cfg), TIMEOUT).await.unwrap_err();
    assert!(matches!(err, LinkError::Tls(_)), "{err:?}");
}

#[tokio::test]
async fn connecting_without_a_client_certificate_is_refused_as_a_tls_error() {
    let mf = MainfluxBroker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = mf.config(1, &dir.path().join("q.redb"));
    cfg.mainflux.cert_file.clear();
    cfg.mainflux.key_file.clear();
    let err = probe(&settings(&cfg), TIMEOUT).await.unwrap_err();
    assert!(matches!(err, LinkError::Tls(_)), "{err:?}");
}

#[tokio::test]
async fn a_wrong_thing_key_is_refused_by_the_broker_and_named_in_the_error() {
    let mf = MainfluxBroker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = mf.config(1, &dir.path().join("q.redb"));
    cfg.mainflux.thing_key = "not-the-key".into();
    let s = settings(&cfg);
    let err = probe(&s, TIMEOUT).await.unwrap_err();
    assert!(matches!(err, LinkError::Refused(_)), "{err:?}");
    assert!(err.to_string().contains("ThingId"), "{err}");
    // The certificate CN (the real key) no longer matches the configured key.
    assert!(certificate_cn_warning(&s).is_some());
    assert!(!err.to_string().contains("not-the-key"));
}

#[tokio::test]
async fn tls_setup_errors_never_fall_back_to_plaintext() {
    let mf = MainfluxBroker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = mf.config(1, &dir.path().join("q.redb"));
    // Pointing TLS at the plain listener must fail, not speak MQTT in clear text.
    cfg.mainflux.port = mf.broker.port();
    let err = probe(&settings(&cfg), TIMEOUT).await.unwrap_err();
    assert!(
        matches!(err, LinkError::Tls(_) | LinkError::Network(_)),
        "{err:?}"
    );
    cfg.mainflux.ca_file = dir.path().join("missing.crt").display().to_string();
    let err = probe(&settings(&cfg), TIMEOUT).await.unwrap_err();
    assert!(matches!(err, LinkError::TlsSetup(_)), "{err:?}");
    assert!(err.to_string().contains("missing.crt"), "{err}");
    let _ = THING_ID;
}
