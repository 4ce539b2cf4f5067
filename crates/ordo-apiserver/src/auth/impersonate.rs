//! Impersonation (upstream `WithImpersonation`): `Impersonate-User`, `Impersonate-Group`,
//! `Impersonate-Uid` and `Impersonate-Extra-KEY` headers replace the request's user, each one
//! authorized as the `impersonate` verb on users, groups, serviceaccounts, uids or userextras.

use super::{forbidden, Attributes, UserInfo, AUTHENTICATED};
use crate::ApiServer;
use axum::http::HeaderMap;
use ordo_api::status::ApiError;

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";
const UID: &str = "impersonate-uid";
const EXTRA: &str = "impersonate-extra-";
const SA_PREFIX: &str = "system:serviceaccount:";
const ANONYMOUS: &str = "system:anonymous";
const UNAUTHENTICATED: &str = "system:unauthenticated";

fn values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// The user `requestor` acts as: itself without impersonation headers, the impersonated user
/// when every impersonation is allowed, 403 (upstream's text) otherwise.
pub fn impersonate(
    server: &ApiServer,
    requestor: &UserInfo,
    headers: &HeaderMap,
) -> Result<UserInfo, ApiError> {
    let user = values(headers, USER);
    let groups = values(headers, GROUP);
    let uid = values(headers, UID);
    let extras: Vec<(String, &str)> = headers
        .iter()
        .filter_map(|(k, v)| {
            let key = k.as_str().strip_prefix(EXTRA)?;
            let key = percent_decode(key).to_ascii_lowercase();
            Some((key, v.to_str().ok()?))
        })
        .collect();
    if user.is_empty() {
        if !groups.is_empty() || !uid.is_empty() || !extras.is_empty() {
            return Err(ApiError::bad_request(format!(
                "requested {} without impersonating a user",
                if !groups.is_empty() {
                    "groups"
                } else if !uid.is_empty() {
                    "uid"
                } else {
                    "user extras"
                }
            )));
        }
        return Ok(requestor.clone());
    }
    let check = |resource: &str, sub: &str, ns: &str, name: &str| {
        let attrs = Attributes {
            user: requestor.clone(),
            verb: "impersonate".into(),
            resource_request: true,
            api_group: if matches!(resource, "userextras" | "uids") {
                "authentication.k8s.io".into()
            } else {
                String::new()
            },
            api_version: "v1".into(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: ns.into(),
            name: name.into(),
            path: String::new(),
        };
        super::decide(server, &attrs)
            .map(|_| ())
            .map_err(|reason| forbidden(&attrs, &reason))
    };
    let name = user[0].to_string();
    let groups_given = !groups.is_empty();
    let mut out = UserInfo {
        name: name.clone(),
        ..Default::default()
    };
    match name.strip_prefix(SA_PREFIX).and_then(|r| r.split_once(':')) {
        Some((ns, sa)) => {
            check("serviceaccounts", "", ns, sa)?;
            if !groups_given {
                out.groups = vec![
                    "system:serviceaccounts".into(),
                    format!("system:serviceaccounts:{ns}"),
                ];
            }
        }
        None => check("users", "", "", &name)?,
    }
    for g in &groups {
        check("groups", "", "", g)?;
        out.groups.push(g.to_string());
    }
    for (k, v) in &extras {
        check("userextras", k, "", v)?;
        out.extra.entry(k.clone()).or_default().push(v.to_string());
    }
    if let Some(u) = uid.first() {
        check("uids", "", "", u)?;
        out.uid = u.to_string();
    }
    if name != ANONYMOUS {
        if !out
            .groups
            .iter()
            .any(|g| g == AUTHENTICATED || g == UNAUTHENTICATED)
        {
            out.groups.push(AUTHENTICATED.into());
        }
    } else if !out.groups.iter().any(|g| g == UNAUTHENTICATED) {
        out.groups.push(UNAUTHENTICATED.into());
    }
    Ok(out)
}

/// `%XX` escapes of an extra key (upstream unescapes them).
fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("k={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}
