//! `authentication.k8s.io/v1` messages (`api.authentication.v1`): what `kubectl create token`
//! and `kubectl auth whoami` send.

use super::super::schema::{f, Kind::*, Msg};
use super::OBJECT_META;

/// `TokenRequest`.
pub(crate) static TOKEN_REQUEST: Msg = Msg {
    name: "TokenRequest",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&TOKEN_REQUEST_SPEC)),
        f(3, "status", Message(&TOKEN_REQUEST_STATUS)),
    ],
};
/// `TokenRequestSpec`.
pub(crate) static TOKEN_REQUEST_SPEC: Msg = Msg {
    name: "TokenRequestSpec",
    fields: &[
        f(1, "audiences", Str).rep(),
        f(3, "boundObjectRef", Message(&BOUND_OBJECT_REFERENCE)),
        f(4, "expirationSeconds", Int).keep(),
    ],
};
/// `BoundObjectReference`.
pub(crate) static BOUND_OBJECT_REFERENCE: Msg = Msg {
    name: "BoundObjectReference",
    fields: &[
        f(1, "kind", Str),
        f(2, "apiVersion", Str),
        f(3, "name", Str),
        f(4, "uid", Str),
    ],
};
/// `TokenRequestStatus`.
pub(crate) static TOKEN_REQUEST_STATUS: Msg = Msg {
    name: "TokenRequestStatus",
    fields: &[f(1, "token", Str), f(2, "expirationTimestamp", Time)],
};
/// `TokenReview`.
pub(crate) static TOKEN_REVIEW: Msg = Msg {
    name: "TokenReview",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&TOKEN_REVIEW_SPEC)),
    ],
};
/// `TokenReviewSpec`.
pub(crate) static TOKEN_REVIEW_SPEC: Msg = Msg {
    name: "TokenReviewSpec",
    fields: &[f(1, "token", Str), f(2, "audiences", Str).rep()],
};
/// `SelfSubjectReview` (its status is the server's answer; a request has none).
pub(crate) static SELF_SUBJECT_REVIEW: Msg = Msg {
    name: "SelfSubjectReview",
    fields: &[f(1, "metadata", Message(&OBJECT_META))],
};
