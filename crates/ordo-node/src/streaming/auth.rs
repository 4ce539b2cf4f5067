//! Who may use the endpoint. The agent inside `ordo server` knows the token the API server
//! presents; an agent that joined with a join token does not, and does what the kubelet's
//! webhook authentication and authorization do: a TokenReview of the bearer token and a
//! SubjectAccessReview of its user on `nodes/proxy` of this node, both asked of the API server
//! with the node's own credential. Allowed tokens are remembered for a minute.

use axum::http::{header, HeaderMap, Method};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an allowed token is remembered.
const REMEMBER: Duration = Duration::from_secs(60);

/// The endpoint's authenticator and authorizer.
pub struct Auth {
    /// The API server's token, when this agent was given it (empty: review each token).
    token: String,
    /// The node's client, for reviews.
    client: kube::Client,
    node: String,
    allowed: Mutex<HashMap<(String, &'static str), Instant>>,
}

impl Auth {
    /// An authenticator for node `node`: the static `token` when not empty, else reviews
    /// through `client`.
    pub fn new(token: String, client: kube::Client, node: String) -> Auth {
        Auth {
            token,
            client,
            node,
            allowed: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the request may go on.
    pub async fn allows(&self, method: &Method, headers: &HeaderMap) -> bool {
        let Some(bearer) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        if !self.token.is_empty() {
            return bearer == self.token;
        }
        let verb = if method == Method::GET {
            "get"
        } else {
            "create"
        };
        let key = (bearer.to_string(), verb);
        {
            let mut allowed = self.allowed.lock().unwrap_or_else(|e| e.into_inner());
            allowed.retain(|_, at| at.elapsed() < REMEMBER);
            if allowed.contains_key(&key) {
                return true;
            }
        }
        match self.review(bearer, verb).await {
            Ok(true) => {
                self.allowed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, Instant::now());
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!("reviewing a request to the logs/exec endpoint failed: {e}");
                false
            }
        }
    }

    async fn review(&self, bearer: &str, verb: &str) -> Result<bool, kube::Error> {
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: Some(bearer.to_string()),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<TokenReview> = Api::all(self.client.clone());
        let answer = api.create(&PostParams::default(), &review).await?;
        let Some(status) = answer.status.filter(|s| s.authenticated == Some(true)) else {
            return Ok(false);
        };
        let user = status.user.unwrap_or_default();
        let sar = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: user.username,
                uid: user.uid,
                groups: user.groups,
                extra: user.extra,
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.into()),
                    resource: Some("nodes".into()),
                    subresource: Some("proxy".into()),
                    name: Some(self.node.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
        let answer = api.create(&PostParams::default(), &sar).await?;
        Ok(answer.status.is_some_and(|s| s.allowed))
    }
}
