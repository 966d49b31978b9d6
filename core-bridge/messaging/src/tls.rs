//! TLS for every component of the workspace: the single owner of the rustls `CryptoProvider`
//! (aws-lc-rs), PEM loading and client/server config builders.
//!
//! Configs are built with `builder_with_provider`, so library code works even when no process
//! default was installed; binaries still call [`install_default_provider`] once at startup for
//! third-party code that uses the process default.

use crate::error::TlsError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The aws-lc-rs provider used for every config built here.
pub fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .clone()
}

/// Install aws-lc-rs as the process-wide default provider. Idempotent; a provider installed
/// earlier (by this function) is left in place.
pub fn install_default_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Read a PEM file, naming `what` and the path on failure.
pub fn read_pem_file(path: &Path, what: &'static str) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::ReadFile {
        what,
        path: path.display().to_string(),
        source,
    })
}

fn origin(o: Option<&Path>) -> String {
    o.map(|p| format!(" in {}", p.display()))
        .unwrap_or_default()
}

/// Parse every certificate in a PEM document (at least one required).
pub fn parse_certs(
    pem: &str,
    what: &'static str,
    from: Option<&Path>,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what,
            origin: origin(from),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what,
            origin: origin(from),
            message: "no CERTIFICATE block found".into(),
        });
    }
    Ok(certs)
}

/// Parse a private key (PKCS#8, PKCS#1 or SEC1) from PEM.
pub fn parse_key(pem: &str, from: Option<&Path>) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| TlsError::Pem {
        what: "private key",
        origin: origin(from),
        message: e.to_string(),
    })
}

fn root_store(ca_pem: &str) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for c in parse_certs(ca_pem, "CA certificate", None)? {
        roots.add(c)?;
    }
    Ok(roots)
}

const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

fn system_roots() -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for p in SYSTEM_CA_BUNDLES {
        if let Ok(pem) = std::fs::read_to_string(p) {
            for c in CertificateDer::pem_slice_iter(pem.as_bytes()).flatten() {
                // One odd certificate in the OS store must not break TLS.
                let _ = roots.add(c);
            }
            if !roots.is_empty() {
                return Ok(roots);
            }
        }
    }
    Err(TlsError::Pem {
        what: "system CA bundle",
        origin: String::new(),
        message: "no CA configured and no system CA bundle found".into(),
    })
}

/// A TLS client config.
///
/// - `ca_pem`: CAs to trust; `None` uses the system bundle.
/// - `client_auth`: `(certificate chain PEM, private key PEM)` for mutual TLS.
/// - `skip_verify`: accept any server certificate (signatures on the handshake are still
///   checked). Insecure; logged as a warning.
pub fn client_config(
    ca_pem: Option<&str>,
    client_auth: Option<(&str, &str)>,
    skip_verify: bool,
) -> Result<ClientConfig, TlsError> {
    let builder =
        ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let builder = if skip_verify {
        tracing::warn!("TLS server certificate verification is DISABLED (SkipCertVerify=true)");
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoServerVerification(provider())))
    } else {
        let roots = match ca_pem {
            Some(pem) => root_store(pem)?,
            None => system_roots()?,
        };
        builder.with_root_certificates(roots)
    };
    match client_auth {
        Some((cert, key)) => Ok(builder.with_client_auth_cert(
            parse_certs(cert, "client certificate", None)?,
            parse_key(key, None)?,
        )?),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// [`client_config`] from files; errors name the file.
pub fn client_config_from_files(
    ca_file: Option<&Path>,
    client_auth: Option<(&Path, &Path)>,
    skip_verify: bool,
) -> Result<ClientConfig, TlsError> {
    let ca = ca_file
        .map(|p| {
            let pem = read_pem_file(p, "CA certificate")?;
            parse_certs(&pem, "CA certificate", Some(p))?;
            Ok::<_, TlsError>(pem)
        })
        .transpose()?;
    let auth = client_auth
        .map(|(c, k)| {
            let cert = read_pem_file(c, "client certificate")?;
            parse_certs(&cert, "client certificate", Some(c))?;
            let key = read_pem_file(k, "client key")?;
            parse_key(&key, Some(k))?;
            Ok::<_, TlsError>((cert, key))
        })
        .transpose()?;
    client_config(
        ca.as_deref(),
        auth.as_ref().map(|(c, k)| (c.as_str(), k.as_str())),
        skip_verify,
    )
}

/// A TLS server config that requires a client certificate issued by `client_ca_pem`.
pub fn server_config_mtls(
    cert_pem: &str,
    key_pem: &str,
    client_ca_pem: &str,
) -> Result<ServerConfig, TlsError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(
        Arc::new(root_store(client_ca_pem)?),
        provider(),
    )
    .build()
    .map_err(|e| TlsError::Verifier(e.to_string()))?;
    Ok(ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            parse_certs(cert_pem, "server certificate", None)?,
            parse_key(key_pem, None)?,
        )?)
}

/// A TLS server config without client authentication.
pub fn server_config(cert_pem: &str, key_pem: &str) -> Result<ServerConfig, TlsError> {
    Ok(ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            parse_certs(cert_pem, "server certificate", None)?,
            parse_key(key_pem, None)?,
        )?)
}

/// Accepts any server certificate; verifies handshake signatures with the provider.
#[derive(Debug)]
struct NoServerVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoServerVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgex_test_support::Pki;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn install_default_provider_is_idempotent() {
        install_default_provider();
        install_default_provider();
        assert!(CryptoProvider::get_default().is_some());
    }

    #[test]
    fn bad_pem_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ca.pem");
        std::fs::write(&p, "not a certificate").unwrap();
        let e = client_config_from_files(Some(&p), None, false).unwrap_err();
        assert!(e.to_string().contains("ca.pem"), "{e}");
        let missing = dir.path().join("missing.pem");
        let e = client_config_from_files(Some(&missing), None, false).unwrap_err();
        assert!(e.to_string().contains("missing.pem"), "{e}");
    }

    async fn handshake(server: ServerConfig, client: ClientConfig) -> Result<(), String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let srv = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let mut tls = acceptor.accept(s).await.map_err(|e| e.to_string())?;
            tls.write_all(b"ok").await.map_err(|e| e.to_string())?;
            tls.flush().await.map_err(|e| e.to_string())?;
            Ok::<_, String>(())
        });
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let res = async {
            let mut tls = connector
                .connect(name, tcp)
                .await
                .map_err(|e| e.to_string())?;
            let mut buf = [0u8; 2];
            tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(())
        }
        .await;
        let srv_res = srv.await.unwrap();
        res.and(srv_res)
    }

    #[tokio::test]
    async fn mtls_server_accepts_own_ca_client_and_refuses_foreign_or_missing_cert() {
        let pki = Pki::generate().unwrap();
        let server = || {
            server_config_mtls(
                pki.server_cert_pem(),
                pki.server_key_pem(),
                pki.ca_cert_pem(),
            )
            .unwrap()
        };
        let good = pki.client("good").unwrap();
        let foreign = pki.foreign_client("bad").unwrap();
        let ca = Some(pki.ca_cert_pem());
        handshake(
            server(),
            client_config(ca, Some((&good.cert_pem, &good.key_pem)), false).unwrap(),
        )
        .await
        .unwrap();
        assert!(
            handshake(
                server(),
                client_config(ca, Some((&foreign.cert_pem, &foreign.key_pem)), false).unwrap()
            )
            .await
            .is_err()
        );
        assert!(
            handshake(server(), client_config(ca, None, false).unwrap())
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn client_refuses_server_from_another_ca_unless_skip_verify() {
        let pki = Pki::generate().unwrap();
        let server = || server_config(pki.server_cert_pem(), pki.server_key_pem()).unwrap();
        let other = Some(pki.other_ca_cert_pem());
        assert!(
            handshake(server(), client_config(other, None, false).unwrap())
                .await
                .is_err()
        );
        handshake(server(), client_config(other, None, true).unwrap())
            .await
            .unwrap();
    }
}
