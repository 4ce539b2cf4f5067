//! The cluster CA, the API server's serving certificate, the admin bearer token and the
//! service account signing key, generated at first start and kept in the data directory; client
//! certificates for users (`ordo kubeconfig --user`).

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::net::IpAddr;
use std::path::Path;

mod client_cert;
pub use client_cert::{parse_request, Request};

/// PEM material the server and its clients need.
pub struct Pki {
    /// The cluster CA certificate clients trust.
    pub ca_cert_pem: String,
    pub(crate) server_cert_pem: String,
    pub(crate) server_key_pem: String,
    ca_key_pem: String,
    /// The bearer token that authenticates clients (the admin user).
    pub token: String,
    /// The ServiceAccount token signing key (PKCS#8 PEM, ECDSA P-256), `pki/sa.key`.
    pub service_account_key_pem: String,
}

pub(crate) fn write_private(path: &Path, data: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(data.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

fn random_token() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..48)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

impl Pki {
    /// Loads the PKI from `dir/pki`, creating what is missing. The serving certificate is
    /// re-issued when it does not cover `extra_ips` (for example a new bind address).
    pub fn load_or_create(dir: &Path, extra_ips: &[IpAddr]) -> Result<Pki> {
        let dir = dir.join("pki");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let (ca_cert_pem, ca_key_pem) = match (
            std::fs::read_to_string(dir.join("ca.crt")),
            std::fs::read_to_string(dir.join("ca.key")),
        ) {
            (Ok(c), Ok(k)) => (c, k),
            _ => {
                let key = KeyPair::generate()?;
                let mut params = CertificateParams::new(Vec::<String>::new())?;
                params
                    .distinguished_name
                    .push(DnType::CommonName, "ordo-ca");
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                params.key_usages = vec![
                    KeyUsagePurpose::KeyCertSign,
                    KeyUsagePurpose::CrlSign,
                    KeyUsagePurpose::DigitalSignature,
                ];
                params.not_after = rcgen::date_time_ymd(2036, 1, 1);
                let cert = params.self_signed(&key)?;
                write_private(&dir.join("ca.key"), &key.serialize_pem())?;
                std::fs::write(dir.join("ca.crt"), cert.pem())?;
                let _ = std::fs::remove_file(dir.join("server.crt"));
                (cert.pem(), key.serialize_pem())
            }
        };
        let mut ips: Vec<IpAddr> = vec!["127.0.0.1".parse()?, "10.96.0.1".parse()?];
        for ip in extra_ips {
            if !ips.contains(ip) && !ip.is_unspecified() {
                ips.push(*ip);
            }
        }
        let stamp = ips
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let current = std::fs::read_to_string(dir.join("server.ips")).unwrap_or_default();
        let (server_cert_pem, server_key_pem) = match (
            std::fs::read_to_string(dir.join("server.crt")),
            std::fs::read_to_string(dir.join("server.key")),
        ) {
            (Ok(c), Ok(k)) if current == stamp => (c, k),
            _ => {
                let ca_key = KeyPair::from_pem(&ca_key_pem).context("reading the CA key")?;
                let issuer = Issuer::from_ca_cert_pem(&ca_cert_pem, ca_key)
                    .context("reading the CA certificate")?;
                let key = KeyPair::generate()?;
                let names = [
                    "localhost",
                    "kubernetes",
                    "kubernetes.default",
                    "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local",
                ];
                let mut params = CertificateParams::new(
                    names.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                )?;
                params
                    .distinguished_name
                    .push(DnType::CommonName, "ordo-apiserver");
                for ip in &ips {
                    params.subject_alt_names.push(SanType::IpAddress(*ip));
                }
                params.not_after = rcgen::date_time_ymd(2036, 1, 1);
                let cert = params.signed_by(&key, &issuer)?;
                write_private(&dir.join("server.key"), &key.serialize_pem())?;
                std::fs::write(dir.join("server.crt"), cert.pem())?;
                std::fs::write(dir.join("server.ips"), &stamp)?;
                (cert.pem(), key.serialize_pem())
            }
        };
        let token = match std::fs::read_to_string(dir.join("token")) {
            Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
            _ => {
                let t = random_token();
                write_private(&dir.join("token"), &t)?;
                t
            }
        };
        let service_account_key_pem = match std::fs::read_to_string(dir.join("sa.key")) {
            Ok(k) if !k.trim().is_empty() => k,
            _ => {
                let k = crate::auth::tokens::Signer::generate_pem()?;
                write_private(&dir.join("sa.key"), &k)?;
                k
            }
        };
        Ok(Pki {
            ca_cert_pem,
            server_cert_pem,
            server_key_pem,
            ca_key_pem,
            token,
            service_account_key_pem,
        })
    }

    /// A rustls server configuration for the serving certificate (ALPN h2 and http/1.1).
    pub fn server_config(&self) -> Result<rustls::ServerConfig> {
        let certs = rustls_pemfile::certs(&mut self.server_cert_pem.as_bytes())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let key = rustls_pemfile::private_key(&mut self.server_key_pem.as_bytes())?
            .context("no private key in server.key")?;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        // A client certificate is optional; one signed by the cluster CA authenticates its user.
        let mut roots = rustls::RootCertStore::empty();
        for ca in rustls_pemfile::certs(&mut self.ca_cert_pem.as_bytes()) {
            roots.add(ca?)?;
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            roots.into(),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()?;
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(cfg)
    }

    /// A kubeconfig for the admin user against `server_url`.
    pub fn kubeconfig(&self, server_url: &str) -> String {
        kubeconfig(
            server_url,
            self.ca_cert_pem.as_bytes(),
            "admin",
            &self.token,
        )
    }
}

impl Pki {
    /// The cluster CA (to issue client certificates with).
    pub fn ca(&self) -> ClusterCa {
        ClusterCa {
            cert_pem: self.ca_cert_pem.clone(),
            key_pem: self.ca_key_pem.clone(),
        }
    }
}

/// The cluster CA's certificate and key, which sign users' client certificates.
pub struct ClusterCa {
    /// The CA certificate (PEM).
    pub cert_pem: String,
    key_pem: String,
}

impl ClusterCa {
    /// Reads the CA of the data directory `dir` (`dir/pki/ca.crt` and `ca.key`), which
    /// `ordo server` created; nothing is created or changed.
    pub fn load(dir: &Path) -> Result<ClusterCa> {
        let pki = dir.join("pki");
        let read = |f: &str| {
            std::fs::read_to_string(pki.join(f)).with_context(|| {
                format!(
                    "reading {} (has ordo server run with this data directory?)",
                    pki.join(f).display()
                )
            })
        };
        Ok(ClusterCa {
            cert_pem: read("ca.crt")?,
            key_pem: read("ca.key")?,
        })
    }

    /// A new key and a client certificate signed by the CA for user `user` (the subject's
    /// CN) in `groups` (one O each), valid for a year: (certificate PEM, key PEM).
    pub fn client_certificate(&self, user: &str, groups: &[String]) -> Result<(String, String)> {
        client_cert::issue(&self.cert_pem, &self.key_pem, user, groups)
    }

    /// A client certificate for the PEM certificate request `csr_pem` (its subject and key),
    /// valid for `seconds` (between ten minutes and a year).
    pub fn sign_request(&self, csr_pem: &str, seconds: i64) -> Result<String> {
        client_cert::sign_request(&self.cert_pem, &self.key_pem, csr_pem, seconds)
    }

    /// A kubeconfig for `user` in `groups` authenticating with a new client certificate
    /// against `server_url`.
    pub fn user_kubeconfig(
        &self,
        server_url: &str,
        user: &str,
        groups: &[String],
    ) -> Result<String> {
        let (cert, key) = self.client_certificate(user, groups)?;
        cert_kubeconfig(server_url, &self.cert_pem, user, &cert, &key)
    }
}

/// A kubeconfig for `user` authenticating with the client certificate `cert_pem` and its key
/// `key_pem` against `server_url`, trusting `ca_cert_pem`.
pub fn cert_kubeconfig(
    server_url: &str,
    ca_cert_pem: &str,
    user: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<String> {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let ca = b64(ca_cert_pem);
    let (cert, key) = (b64(cert_pem), b64(key_pem));
    let quoted = serde_json::to_string(user)?;
    Ok(format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ordo\n  cluster:\n    server: {server_url}\n    certificate-authority-data: {ca}\nusers:\n- name: {quoted}\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\ncontexts:\n- name: {quoted}\n  context:\n    cluster: ordo\n    user: {quoted}\n    namespace: default\ncurrent-context: {quoted}\n"
    ))
}

/// The kubeconfig ordo writes (and `ordo agent` reads): one cluster `ordo` at `server_url`
/// trusted through `ca_cert_pem`, one user `user` with the bearer `token`, namespace `default`.
pub fn kubeconfig(server_url: &str, ca_cert_pem: &[u8], user: &str, token: &str) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_cert_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ordo\n  cluster:\n    server: {server_url}\n    certificate-authority-data: {ca}\nusers:\n- name: {user}\n  user:\n    token: {token}\ncontexts:\n- name: ordo\n  context:\n    cluster: ordo\n    user: {user}\n    namespace: default\ncurrent-context: ordo\n"
    )
}
