//! `certificates.k8s.io/v1` CertificateSigningRequest (what `kubectl certificate
//! approve|deny` sends to the `approval` subresource).

use super::super::schema::{f, Kind::*, Msg};
use super::OBJECT_META;

/// `CertificateSigningRequest` (`api.certificates.v1`).
pub(crate) static CERTIFICATE_SIGNING_REQUEST: Msg = Msg {
    name: "CertificateSigningRequest",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&CSR_SPEC)),
        f(3, "status", Message(&CSR_STATUS)),
    ],
};
/// `CertificateSigningRequestSpec`, without `extra` (a map of lists the server sets itself
/// from the requester).
static CSR_SPEC: Msg = Msg {
    name: "CertificateSigningRequestSpec",
    fields: &[
        f(1, "request", Bytes),
        f(2, "username", Str),
        f(3, "uid", Str),
        f(4, "groups", Str).rep(),
        f(5, "usages", Str).rep(),
        f(7, "signerName", Str),
        f(8, "expirationSeconds", Int),
    ],
};
/// `CertificateSigningRequestStatus`.
static CSR_STATUS: Msg = Msg {
    name: "CertificateSigningRequestStatus",
    fields: &[
        f(1, "conditions", Message(&CSR_CONDITION)).rep(),
        f(2, "certificate", Bytes),
    ],
};
/// `CertificateSigningRequestCondition`.
static CSR_CONDITION: Msg = Msg {
    name: "CertificateSigningRequestCondition",
    fields: &[
        f(1, "type", Str),
        f(2, "reason", Str),
        f(3, "message", Str),
        f(4, "lastUpdateTime", Time),
        f(5, "lastTransitionTime", Time),
        f(6, "status", Str),
    ],
};
