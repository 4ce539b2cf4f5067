//! TLS for `httpGet` probes with `scheme: HTTPS`: the kubelet's prober speaks TLS but verifies
//! nothing (`InsecureSkipVerify`), so any certificate, self-signed or expired, is accepted.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, OnceLock};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Accepts every certificate; signatures are still checked against the one presented, so
/// the handshake itself is sound.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
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

fn config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let c = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("the ring provider supports the default TLS versions")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth();
            Arc::new(c)
        })
        .clone()
}

/// A TLS client session over `tcp` to `host` (sent as SNI when it is a name, as Go does).
pub async fn connect(tcp: TcpStream, host: &str) -> std::io::Result<TlsStream<TcpStream>> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    tokio_rustls::TlsConnector::from(config())
        .connect(name, tcp)
        .await
}

/// A TLS acceptor with a fresh self-signed certificate for `localhost`: what the servers that
/// HTTPS probes are tested against present (a probe accepts it as any other).
pub fn self_signed_acceptor() -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    let cert = key.cert.der().clone();
    let pk = rustls::pki_types::PrivateKeyDer::try_from(key.signing_key.serialize_der())
        .map_err(anyhow::Error::msg)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert], pk)?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A TLS server on 127.0.0.1 with a fresh self-signed certificate, answering `status` to
    /// every request; returns its port.
    async fn tls_server(status: u16) -> u16 {
        let acceptor = super::self_signed_acceptor().unwrap();
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = l.accept().await {
                let Ok(mut s) = acceptor.accept(tcp).await else {
                    continue;
                };
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let resp = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
                let _ = s.write_all(resp.as_bytes()).await;
                let _ = s.shutdown().await;
            }
        });
        port
    }

    #[tokio::test]
    async fn https_probes_speak_tls_and_accept_any_certificate() {
        let t = std::time::Duration::from_secs(2);
        let ok = tls_server(200).await;
        assert_eq!(
            super::super::http_get(true, "127.0.0.1", ok, "/healthz", &[], t).await,
            Ok(())
        );
        let bad = tls_server(503).await;
        assert_eq!(
            super::super::http_get(true, "127.0.0.1", bad, "/", &[], t).await,
            Err("HTTP probe failed with statuscode: 503".into())
        );
        // Plain HTTP to a TLS port fails: the server does not answer HTTP.
        assert!(super::super::http_get(false, "127.0.0.1", ok, "/", &[], t)
            .await
            .is_err());
    }
}
