//! [`Pki`]: a throw-away certificate authority generated with rcgen at test time.
//!
//! It holds a CA, a server certificate valid for `localhost` and `127.0.0.1` (DNS and IP SANs,
//! ServerAuth), client certificates with a chosen CN (ClientAuth), and a second, unrelated CA
//! for "certificate from the wrong CA" tests. Everything is written as PEM into a tempdir that
//! lives as long as the `Pki`.

use crate::{SupportError, io_err};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A client certificate and key, as PEM strings and files.
#[derive(Debug, Clone)]
pub struct ClientCert {
    /// Common name of the subject.
    pub cn: String,
    /// Certificate PEM.
    pub cert_pem: String,
    /// Private key PEM (PKCS#8).
    pub key_pem: String,
    /// Path of the certificate file.
    pub cert_path: PathBuf,
    /// Path of the key file.
    pub key_path: PathBuf,
}

struct Ca {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

fn new_ca(name: &str) -> Result<Ca, SupportError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "edgex-rs tests");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok(Ca {
        cert_pem: cert.pem(),
        issuer: Issuer::new(params, key),
    })
}

fn leaf(
    ca: &Ca,
    cn: &str,
    sans: Vec<String>,
    eku: ExtendedKeyUsagePurpose,
) -> Result<(String, String), SupportError> {
    let mut params = CertificateParams::new(sans)?;
    params.distinguished_name.push(DnType::CommonName, cn);
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![eku];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca.issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Test PKI; files are removed on drop.
#[derive(Debug)]
pub struct Pki {
    dir: TempDir,
    ca: Ca,
    other_ca: Ca,
    server_cert_pem: String,
    server_key_pem: String,
}

impl Pki {
    /// Generate a CA, a server certificate for `localhost`/`127.0.0.1` and an unrelated CA.
    pub fn generate() -> Result<Self, SupportError> {
        let dir = tempfile::Builder::new()
            .prefix("pki-")
            .tempdir()
            .map_err(io_err("create PKI tempdir"))?;
        let ca = new_ca("edgex-rs test CA")?;
        let other_ca = new_ca("unrelated test CA")?;
        let (server_cert_pem, server_key_pem) = leaf(
            &ca,
            "localhost",
            vec!["localhost".into(), "127.0.0.1".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        let pki = Self {
            dir,
            ca,
            other_ca,
            server_cert_pem,
            server_key_pem,
        };
        pki.write("ca.crt", &pki.ca.cert_pem)?;
        pki.write("other-ca.crt", &pki.other_ca.cert_pem)?;
        pki.write("server.crt", &pki.server_cert_pem)?;
        pki.write("server.key", &pki.server_key_pem)?;
        Ok(pki)
    }

    fn write(&self, name: &str, pem: &str) -> Result<PathBuf, SupportError> {
        let p = self.dir.path().join(name);
        std::fs::write(&p, pem).map_err(io_err(format!("write {}", p.display())))?;
        Ok(p)
    }

    fn issue_client(&self, ca: &Ca, prefix: &str, cn: &str) -> Result<ClientCert, SupportError> {
        let (cert_pem, key_pem) = leaf(ca, cn, Vec::new(), ExtendedKeyUsagePurpose::ClientAuth)?;
        let safe: String = cn
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let cert_path = self.write(&format!("{prefix}client-{safe}.crt"), &cert_pem)?;
        let key_path = self.write(&format!("{prefix}client-{safe}.key"), &key_pem)?;
        Ok(ClientCert {
            cn: cn.to_owned(),
            cert_pem,
            key_pem,
            cert_path,
            key_path,
        })
    }

    /// Issue a client certificate with common name `cn`, signed by the main CA.
    pub fn client(&self, cn: &str) -> Result<ClientCert, SupportError> {
        self.issue_client(&self.ca, "", cn)
    }

    /// Issue a client certificate with common name `cn`, signed by the unrelated CA
    /// (a broker trusting only the main CA must refuse it).
    pub fn foreign_client(&self, cn: &str) -> Result<ClientCert, SupportError> {
        self.issue_client(&self.other_ca, "foreign-", cn)
    }

    /// Directory holding the PEM files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// CA certificate PEM.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca.cert_pem
    }

    /// CA certificate file.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// Unrelated CA certificate PEM.
    pub fn other_ca_cert_pem(&self) -> &str {
        &self.other_ca.cert_pem
    }

    /// Unrelated CA certificate file.
    pub fn other_ca_cert_path(&self) -> PathBuf {
        self.dir.path().join("other-ca.crt")
    }

    /// Server certificate PEM (SANs `localhost`, `127.0.0.1`).
    pub fn server_cert_pem(&self) -> &str {
        &self.server_cert_pem
    }

    /// Server certificate file.
    pub fn server_cert_path(&self) -> PathBuf {
        self.dir.path().join("server.crt")
    }

    /// Server key PEM.
    pub fn server_key_pem(&self) -> &str {
        &self.server_key_pem
    }

    /// Server key file.
    pub fn server_key_path(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pki_writes_pem_files_and_issues_client_certs() {
        let pki = Pki::generate().unwrap();
        for p in [
            pki.ca_cert_path(),
            pki.other_ca_cert_path(),
            pki.server_cert_path(),
            pki.server_key_path(),
        ] {
            let s = std::fs::read_to_string(&p).unwrap();
            assert!(s.starts_with("-----BEGIN"), "{}", p.display());
        }
        let c = pki.client("device-01").unwrap();
        assert_eq!(c.cn, "device-01");
        assert!(c.cert_pem.contains("BEGIN CERTIFICATE"));
        assert!(c.key_pem.contains("PRIVATE KEY"));
        assert_eq!(std::fs::read_to_string(&c.cert_path).unwrap(), c.cert_pem);
        let f = pki.foreign_client("device-01").unwrap();
        assert_ne!(f.cert_path, c.cert_path);
        assert_ne!(pki.ca_cert_pem(), pki.other_ca_cert_pem());
    }

    #[test]
    fn openssl_verifies_server_and_client_against_the_ca_only() {
        let Ok(openssl) = crate::find_binary("openssl") else {
            eprintln!("openssl not installed; skipping");
            return;
        };
        let pki = Pki::generate().unwrap();
        let verify = |ca: PathBuf, cert: &Path| {
            std::process::Command::new(&openssl)
                .arg("verify")
                .arg("-CAfile")
                .arg(ca)
                .arg(cert)
                .output()
                .unwrap()
                .status
                .success()
        };
        assert!(verify(pki.ca_cert_path(), &pki.server_cert_path()));
        let c = pki.client("c1").unwrap();
        assert!(verify(pki.ca_cert_path(), &c.cert_path));
        let f = pki.foreign_client("c1").unwrap();
        assert!(!verify(pki.ca_cert_path(), &f.cert_path));
        assert!(verify(pki.other_ca_cert_path(), &f.cert_path));
    }
}
