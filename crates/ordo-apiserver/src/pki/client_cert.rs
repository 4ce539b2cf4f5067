//! Client certificates for users, signed by the cluster CA. The certificate is written field by
//! field (DER) because its subject may hold several organizations (one per group), which
//! rcgen's distinguished names cannot express.

use anyhow::{Context, Result};
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use yasna::models::ObjectIdentifier;
use yasna::Tag;

const OID_ECDSA_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
const OID_COMMON_NAME: &[u64] = &[2, 5, 4, 3];
const OID_ORGANIZATION: &[u64] = &[2, 5, 4, 10];
const OID_KEY_USAGE: &[u64] = &[2, 5, 29, 15];
const OID_EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const OID_CLIENT_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 2];

/// Validity of a user certificate.
const VALIDITY_SECONDS: i64 = 365 * 24 * 3600;

fn pem_der(pem: &str, what: &str) -> Result<Vec<u8>> {
    let (_, doc) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| anyhow::anyhow!("reading the {what}: {e}"))?;
    Ok(doc.contents)
}

/// `YYMMDDHHMMSSZ` (UTCTime) or `YYYYMMDDHHMMSSZ` (GeneralizedTime, from 2050) as RFC 5280 wants.
fn write_time(w: yasna::DERWriter, t: chrono::DateTime<chrono::Utc>) {
    use chrono::Datelike;
    let (tag, text) = if t.year() < 2050 {
        (23u8, t.format("%y%m%d%H%M%SZ").to_string())
    } else {
        (24u8, t.format("%Y%m%d%H%M%SZ").to_string())
    };
    let mut der = vec![tag, text.len() as u8];
    der.extend_from_slice(text.as_bytes());
    w.write_der(&der);
}

fn write_extension(w: yasna::DERWriter, oid: &[u64], critical: bool, value: Vec<u8>) {
    w.write_sequence(|w| {
        w.next().write_oid(&ObjectIdentifier::from_slice(oid));
        if critical {
            w.next().write_bool(true);
        }
        w.next().write_bytes(&value);
    });
}

/// Issues (certificate PEM, key PEM) for `user` in `groups`, signed by the CA.
pub(super) fn issue(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    user: &str,
    groups: &[String],
) -> Result<(String, String)> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let spki = rcgen::PublicKeyData::subject_public_key_info(&key);
    let cert = sign(
        ca_cert_pem,
        ca_key_pem,
        &spki,
        user,
        groups,
        VALIDITY_SECONDS,
    )?;
    Ok((cert, key.serialize_pem()))
}

/// A client certificate for the key of the PEM certificate request `csr_pem` (its signature
/// checked), with the request's subject (CN and each O), valid for `seconds` (at most a
/// year): the certificate PEM, or why the request cannot be signed.
pub(super) fn sign_request(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    csr_pem: &str,
    seconds: i64,
) -> Result<String> {
    let request = parse_request(csr_pem)?;
    sign(
        ca_cert_pem,
        ca_key_pem,
        &request.spki,
        &request.common_name,
        &request.organizations,
        seconds.clamp(600, VALIDITY_SECONDS),
    )
}

/// What ordo reads from a certificate request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The subject's common name.
    pub common_name: String,
    /// The subject's organizations, in order.
    pub organizations: Vec<String>,
    /// The DER SubjectPublicKeyInfo of the requested key.
    pub spki: Vec<u8>,
}

/// Parses a PEM `CERTIFICATE REQUEST` and checks its signature (upstream `ParseCSR` and
/// `CheckSignature`).
pub fn parse_request(csr_pem: &str) -> Result<Request> {
    use x509_parser::prelude::FromDer;
    let (_, pem) = x509_parser::pem::parse_x509_pem(csr_pem.as_bytes())
        .map_err(|e| anyhow::anyhow!("PEM block type must be CERTIFICATE REQUEST ({e})"))?;
    anyhow::ensure!(
        pem.label == "CERTIFICATE REQUEST",
        "PEM block type must be CERTIFICATE REQUEST"
    );
    let (_, csr) =
        x509_parser::certification_request::X509CertificationRequest::from_der(&pem.contents)
            .map_err(|e| anyhow::anyhow!("x509: malformed certificate request: {e}"))?;
    csr.verify_signature().map_err(|e| {
        anyhow::anyhow!("x509: the certificate request's signature is invalid: {e}")
    })?;
    let info = &csr.certification_request_info;
    let text = |a: &x509_parser::x509::AttributeTypeAndValue| a.as_str().unwrap_or("").to_string();
    let common_name = info
        .subject
        .iter_common_name()
        .next()
        .map(text)
        .unwrap_or_default();
    let organizations = info.subject.iter_organization().map(text).collect();
    let spki = info.subject_pki.raw.to_vec();
    Ok(Request {
        common_name,
        organizations,
        spki,
    })
}

/// A client certificate for the key `spki` with subject CN `user` and one O per group.
fn sign(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    spki: &[u8],
    user: &str,
    groups: &[String],
    seconds: i64,
) -> Result<String> {
    anyhow::ensure!(!user.is_empty(), "the user name must not be empty");
    let ca_der = pem_der(ca_cert_pem, "CA certificate")?;
    let (_, ca) = x509_parser::parse_x509_certificate(&ca_der)
        .map_err(|e| anyhow::anyhow!("parsing the CA certificate: {e}"))?;
    let issuer = ca.tbs_certificate.subject.as_raw().to_vec();
    let ca_key_der = pem_der(ca_key_pem, "CA key")?;
    let rng = ring::rand::SystemRandom::new();
    let ca_key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &ca_key_der, &rng)
        .map_err(|e| anyhow::anyhow!("the CA key is not an ECDSA P-256 key: {e}"))?;
    let mut serial = uuid::Uuid::new_v4().as_bytes().to_vec();
    serial[0] &= 0x7f;
    let now = chrono::Utc::now() - chrono::Duration::minutes(5);
    let not_after = chrono::Utc::now() + chrono::Duration::seconds(seconds);
    let sig_alg = |w: yasna::DERWriter| {
        w.write_sequence(|w| {
            w.next()
                .write_oid(&ObjectIdentifier::from_slice(OID_ECDSA_SHA256))
        })
    };
    let tbs = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_tagged(Tag::context(0), |w| w.write_u8(2));
            w.next().write_bigint_bytes(&serial, true);
            sig_alg(w.next());
            w.next().write_der(&issuer);
            w.next().write_sequence(|w| {
                write_time(w.next(), now);
                write_time(w.next(), not_after);
            });
            w.next().write_sequence(|w| {
                for g in groups {
                    w.next().write_set(|w| {
                        w.next().write_sequence(|w| {
                            w.next()
                                .write_oid(&ObjectIdentifier::from_slice(OID_ORGANIZATION));
                            w.next().write_utf8_string(g);
                        })
                    });
                }
                w.next().write_set(|w| {
                    w.next().write_sequence(|w| {
                        w.next()
                            .write_oid(&ObjectIdentifier::from_slice(OID_COMMON_NAME));
                        w.next().write_utf8_string(user);
                    })
                });
            });
            w.next().write_der(spki);
            w.next().write_tagged(Tag::context(3), |w| {
                w.write_sequence(|w| {
                    // digitalSignature (bit 0).
                    let ku = yasna::construct_der(|w| w.write_bitvec_bytes(&[0x80], 1));
                    write_extension(w.next(), OID_KEY_USAGE, true, ku);
                    let eku = yasna::construct_der(|w| {
                        w.write_sequence(|w| {
                            w.next()
                                .write_oid(&ObjectIdentifier::from_slice(OID_CLIENT_AUTH))
                        })
                    });
                    write_extension(w.next(), OID_EXT_KEY_USAGE, false, eku);
                    let bc = yasna::construct_der(|w| w.write_sequence(|_| {}));
                    write_extension(w.next(), OID_BASIC_CONSTRAINTS, true, bc);
                });
            });
        })
    });
    let sig = ca_key
        .sign(&rng, &tbs)
        .map_err(|_| anyhow::anyhow!("signing the certificate failed"))?;
    let cert = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(&tbs);
            sig_alg(w.next());
            w.next()
                .write_bitvec_bytes(sig.as_ref(), sig.as_ref().len() * 8);
        })
    });
    x509_parser::parse_x509_certificate(&cert).context("the issued certificate does not parse")?;
    Ok(pem(&cert))
}

fn pem(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}
