//! Ephemeral containers (`spec.ephemeralContainers`, added through the
//! `pods/ephemeralcontainers` subresource, as `kubectl debug` does): the agent runs them as
//! ordinary containers of the running pod, from their [`as_container`] form.

use k8s_openapi::api::core::v1::{Container, EphemeralContainer, Pod};

/// The ephemeral containers of the pod's spec.
pub fn of(pod: &Pod) -> &[EphemeralContainer] {
    pod.spec
        .as_ref()
        .and_then(|s| s.ephemeral_containers.as_deref())
        .unwrap_or_default()
}

/// The pod's ephemeral container called `name`, if there is one.
pub fn named<'a>(pod: &'a Pod, name: &str) -> Option<&'a EphemeralContainer> {
    of(pod).iter().find(|e| e.name == name)
}

/// The container an ephemeral container `name` targets (`targetContainerName`): it joins
/// that container's process namespace. None for other containers or without a target.
pub fn target<'a>(pod: &'a Pod, name: &str) -> Option<&'a str> {
    named(pod, name)?
        .target_container_name
        .as_deref()
        .filter(|t| !t.is_empty())
}

/// An ephemeral container as a [`Container`] (the kubelet's conversion of
/// `EphemeralContainerCommon`): every field it shares; validation keeps ports, probes,
/// resources and lifecycle unset.
pub fn as_container(e: &EphemeralContainer) -> Container {
    Container {
        name: e.name.clone(),
        image: e.image.clone(),
        command: e.command.clone(),
        args: e.args.clone(),
        working_dir: e.working_dir.clone(),
        env: e.env.clone(),
        env_from: e.env_from.clone(),
        volume_mounts: e.volume_mounts.clone(),
        volume_devices: e.volume_devices.clone(),
        termination_message_path: e.termination_message_path.clone(),
        termination_message_policy: e.termination_message_policy.clone(),
        image_pull_policy: e.image_pull_policy.clone(),
        security_context: e.security_context.clone(),
        stdin: e.stdin,
        stdin_once: e.stdin_once,
        tty: e.tty,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodSpec;

    #[test]
    fn targets_and_conversion() {
        let e = EphemeralContainer {
            name: "debugger".into(),
            image: Some("busybox:1.28".into()),
            stdin: Some(true),
            tty: Some(true),
            target_container_name: Some("web".into()),
            ..Default::default()
        };
        let pod = Pod {
            spec: Some(PodSpec {
                ephemeral_containers: Some(vec![e.clone()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(target(&pod, "debugger"), Some("web"));
        assert_eq!(target(&pod, "web"), None);
        let c = as_container(&e);
        assert_eq!(
            (c.name.as_str(), c.image.as_deref(), c.stdin, c.tty),
            ("debugger", Some("busybox:1.28"), Some(true), Some(true))
        );
    }
}
