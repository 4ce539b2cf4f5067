//! Users by X.509 client certificate, as kube-apiserver's `x509` authenticator reads them: the
//! TLS server verified the chain against the cluster CA (a certificate is optional); the
//! subject's common name is the user and its organizations are the groups.

use super::{UserInfo, AUTHENTICATED};
use std::collections::BTreeMap;

/// The user of a verified client certificate, attached to every request of its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertUser(pub UserInfo);

/// The user a client certificate (DER) names: CN is the name, each O a group, plus
/// `system:authenticated`. `None` when the certificate cannot be read or has no CN.
pub fn user_from_certificate(der: &[u8]) -> Option<UserInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let name = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())?
        .to_string();
    if name.is_empty() {
        return None;
    }
    let mut groups: Vec<String> = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_string))
        .collect();
    if !groups.iter().any(|g| g == AUTHENTICATED) {
        groups.push(AUTHENTICATED.into());
    }
    Some(UserInfo {
        name,
        uid: String::new(),
        groups,
        extra: BTreeMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_name_is_the_user_and_organizations_the_groups() {
        let dir = tempfile::tempdir().unwrap();
        let pki = crate::pki::Pki::load_or_create(dir.path(), &[]).unwrap();
        let (cert_pem, _key) = pki
            .ca()
            .client_certificate("jane", &["dev".into(), "ops".into()])
            .unwrap();
        let der = rustls_pemfile::certs(&mut cert_pem.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        let u = user_from_certificate(&der).unwrap();
        assert_eq!(u.name, "jane");
        assert_eq!(u.groups, vec!["dev", "ops", AUTHENTICATED]);
    }
}
