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
        f(3, "status", Message(&TOKEN_REVIEW_STATUS)),
    ],
};
/// `TokenReviewStatus` (the server's answer; clients send it empty).
pub(crate) static TOKEN_REVIEW_STATUS: Msg = Msg {
    name: "TokenReviewStatus",
    fields: &[
        f(1, "authenticated", Bool),
        f(2, "user", Message(&USER_INFO)),
        f(3, "error", Str),
        f(4, "audiences", Str).rep(),
    ],
};
/// `UserInfo` (its `extra` map is left out).
pub(crate) static USER_INFO: Msg = Msg {
    name: "UserInfo",
    fields: &[
        f(1, "username", Str),
        f(2, "uid", Str),
        f(3, "groups", Str).rep(),
    ],
};
/// `TokenReviewSpec`.
pub(crate) static TOKEN_REVIEW_SPEC: Msg = Msg {
    name: "TokenReviewSpec",
    fields: &[f(1, "token", Str), f(2, "audiences", Str).rep()],
};
/// `SelfSubjectReview`.
pub(crate) static SELF_SUBJECT_REVIEW: Msg = Msg {
    name: "SelfSubjectReview",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "status", Message(&SELF_SUBJECT_REVIEW_STATUS)),
    ],
};
/// `SelfSubjectReviewStatus` (the server's answer; clients send it empty).
pub(crate) static SELF_SUBJECT_REVIEW_STATUS: Msg = Msg {
    name: "SelfSubjectReviewStatus",
    fields: &[f(1, "userInfo", Message(&USER_INFO))],
};
