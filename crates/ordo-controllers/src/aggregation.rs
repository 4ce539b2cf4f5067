//! ClusterRole aggregation (upstream `clusterroleaggregation` controller): a ClusterRole with an
//! `aggregationRule` holds the rules of every other ClusterRole its selectors match, in name
//! order, without duplicates. Any ClusterRole change re-syncs every aggregated ClusterRole;
//! the rules are written with a merge patch through the API.

use futures::StreamExt;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::ResourceExt;
use ordo_api::selector::label_selector_matches;
use ordo_client::{Caches, Shared, Writes};
use std::sync::Arc;
use std::time::Duration;

struct Ctx {
    api: Api<ClusterRole>,
    roles: Arc<Shared<ClusterRole>>,
}

/// The rules `role` should hold given every ClusterRole in `all`, or `None` when it is not
/// aggregated.
pub fn aggregated_rules(role: &ClusterRole, all: &[Arc<ClusterRole>]) -> Option<Vec<PolicyRule>> {
    let selectors = role
        .aggregation_rule
        .as_ref()?
        .cluster_role_selectors
        .clone()
        .unwrap_or_default();
    let mut sources: Vec<&Arc<ClusterRole>> = all
        .iter()
        .filter(|c| c.name_any() != role.name_any())
        .filter(|c| {
            selectors
                .iter()
                .any(|s| label_selector_matches(s, c.metadata.labels.as_ref()))
        })
        .collect();
    sources.sort_by_key(|c| c.name_any());
    let mut rules: Vec<PolicyRule> = Vec::new();
    for c in sources {
        for r in c.rules.iter().flatten() {
            if !rules.contains(r) {
                rules.push(r.clone());
            }
        }
    }
    Some(rules)
}

/// Runs the aggregation controller until its watch ends.
pub async fn run(caches: Caches) -> anyhow::Result<()> {
    let ctx = Arc::new(Ctx {
        api: Api::all(caches.client().clone()),
        roles: caches.get::<ClusterRole>(),
    });
    ctx.roles.ready().await;
    let roles = ctx.roles.clone();
    Controller::for_stream(ctx.roles.stream(), ctx.roles.store())
        .watches_stream(ctx.roles.stream(), move |_changed: ClusterRole| {
            roles
                .state()
                .iter()
                .filter(|c| c.aggregation_rule.is_some())
                .map(|c| ObjectRef::new(&c.name_any()))
                .collect::<Vec<_>>()
        })
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("clusterrole aggregation controller: {e}");
            }
        })
        .await;
    Ok(())
}

fn error_policy(_role: Arc<ClusterRole>, e: &kube::Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!("clusterrole aggregation failed: {e}");
    Action::requeue(Duration::from_millis(500))
}

async fn reconcile(obj: Arc<ClusterRole>, ctx: Arc<Ctx>) -> Result<Action, kube::Error> {
    let name = obj.name_any();
    let Some(role) = ctx.roles.get("", &name) else {
        return Ok(Action::await_change());
    };
    let Some(rules) = aggregated_rules(&role, &ctx.roles.state()) else {
        return Ok(Action::await_change());
    };
    if role.rules.clone().unwrap_or_default() == rules {
        return Ok(Action::await_change());
    }
    let writes = Writes::default();
    let patch = serde_json::json!({ "rules": rules });
    let written = ctx
        .api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    tracing::info!(clusterrole = %name, rules = rules.len(), "aggregated ClusterRole rules");
    writes.wrote(&ctx.roles, &written);
    writes.settle(&format!("clusterrole {name}")).await;
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::rbac::v1::AggregationRule;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    fn role(name: &str, label: Option<&str>, verbs: &[&str]) -> ClusterRole {
        let mut r = ClusterRole::default();
        r.metadata.name = Some(name.into());
        if let Some(l) = label {
            r.metadata.labels = Some([(l.to_string(), "true".to_string())].into());
        }
        r.rules = Some(vec![PolicyRule {
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
            api_groups: Some(vec!["".into()]),
            resources: Some(vec!["pods".into()]),
            ..Default::default()
        }]);
        r
    }

    #[test]
    fn aggregates_matching_roles_in_name_order_without_duplicates() {
        let mut view = role("view", None, &[]);
        view.rules = None;
        view.aggregation_rule = Some(AggregationRule {
            cluster_role_selectors: Some(vec![LabelSelector {
                match_labels: Some([("agg".to_string(), "true".to_string())].into()),
                ..Default::default()
            }]),
        });
        let all = vec![
            Arc::new(role("b", Some("agg"), &["list"])),
            Arc::new(role("a", Some("agg"), &["get"])),
            Arc::new(role("c", Some("agg"), &["get"])),
            Arc::new(role("d", None, &["delete"])),
        ];
        let rules = aggregated_rules(&view, &all).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].verbs, vec!["get"]);
        assert_eq!(rules[1].verbs, vec!["list"]);
        assert!(aggregated_rules(&all[0], &all).is_none());
    }
}
