//! The kubelet's image manager (`pkg/kubelet/images`): applies a container's
//! `imagePullPolicy`, pulls through the [`Runtime`], and records the kubelet's events
//! (`Pulling`, `Pulled`, `Failed`, `ErrImageNeverPull`) on the container.
//!
//! A pull uses the pod's pull secrets as the kubelet's `kuberuntime` does: the credentials
//! of the keyring matching the image's repository are tried in order until one pull
//! succeeds (the errors of all, aggregated, otherwise); with none matching the pull is
//! anonymous.
//!
//! A failure comes back as an [`ImagePullError`], which the agent turns into the container's
//! waiting reason (`ErrImagePull`, then `ImagePullBackOff` while it backs off, or
//! `ErrImageNeverPull`).

use crate::events::EventSink;
use crate::image::credentials::Keyring;
use crate::image::{reference, ImageNotPresent};
use crate::runtime::{ImageInfo, PulledImage, Runtime};
use k8s_openapi::api::core::v1::{Container, Pod, Secret};
use std::time::{Duration, Instant};

/// The waiting reason of a pull that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullFailure {
    /// The pull was tried and failed (`ErrImagePull`; `ImagePullBackOff` while backing off).
    ErrImagePull,
    /// The image is absent and the policy is `Never` (`ErrImageNeverPull`).
    ErrImageNeverPull,
}

impl PullFailure {
    /// The reason as the container's waiting state shows it.
    pub fn reason(self) -> &'static str {
        match self {
            PullFailure::ErrImagePull => "ErrImagePull",
            PullFailure::ErrImageNeverPull => "ErrImageNeverPull",
        }
    }
}

/// A container whose image could not be made present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImagePullError {
    /// The image as the pod names it.
    pub image: String,
    /// The container's name.
    pub container: String,
    /// Whether it is an init container.
    pub init: bool,
    /// Which waiting reason the container shows.
    pub failure: PullFailure,
    /// The waiting state's message (the pull error, or the `Never` explanation).
    pub message: String,
}

impl std::fmt::Display for ImagePullError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ImagePullError {}

/// The container's pull policy: its `imagePullPolicy`, else Kubernetes' default (`Always` for
/// `:latest` or an untagged image without a digest, `IfNotPresent` otherwise).
pub fn pull_policy(c: &Container) -> String {
    if let Some(p) = c.image_pull_policy.as_deref().filter(|p| !p.is_empty()) {
        return p.to_string();
    }
    let image = c.image.as_deref().unwrap_or_default();
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    let tag = last.split_once(':').map(|(_, t)| t);
    if image.contains('@') || tag.is_some_and(|t| t != "latest") {
        "IfNotPresent".into()
    } else {
        "Always".into()
    }
}

/// Makes the container's image present according to its pull policy, as the kubelet's
/// `EnsureImageExists` does, with its events; a pull uses the credentials of `pull_secrets`
/// (the pod's, as retrieved).
pub async fn ensure_image_exists(
    rt: &dyn Runtime,
    events: &EventSink,
    pod: &Pod,
    c: &Container,
    init: bool,
    pull_secrets: &[Secret],
) -> anyhow::Result<ImageInfo> {
    let image = c.image.clone().unwrap_or_default();
    let policy = pull_policy(c);
    let present = rt.ensure_image(&image).await?;
    let event = |ty: &str, reason: &str, msg: String| {
        events.container(pod, init, &c.name, ty, reason, msg);
    };
    let fail = |failure, message: String| ImagePullError {
        image: image.clone(),
        container: c.name.clone(),
        init,
        failure,
        message,
    };
    let should_pull = match policy.as_str() {
        "Never" => false,
        "IfNotPresent" => present.is_none(),
        _ => true,
    };
    if !should_pull {
        if let Some(info) = present {
            event(
                "Normal",
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
            );
            return Ok(info);
        }
        let msg = format!("Container image \"{image}\" is not present with pull policy of Never");
        event("Warning", "ErrImageNeverPull", msg.clone());
        return Err(fail(PullFailure::ErrImageNeverPull, msg).into());
    }
    event("Normal", "Pulling", format!("Pulling image \"{image}\""));
    let started = Instant::now();
    match pull_with_secrets(rt, &image, pull_secrets).await {
        Ok(pulled) => {
            let took = go_duration(started.elapsed());
            event(
                "Normal",
                "Pulled",
                format!(
                    "Successfully pulled image \"{image}\" in {took} ({took} including waiting). Image size: {} bytes.",
                    pulled.size
                ),
            );
            Ok(pulled.info)
        }
        Err(e) => {
            let msg = format!("{e:#}");
            event(
                "Warning",
                "Failed",
                format!("Failed to pull image \"{image}\": {msg}"),
            );
            Err(fail(PullFailure::ErrImagePull, msg).into())
        }
    }
}

/// The kubelet's `pullImage`: the keyring of the pull secrets, then each credential matching
/// the image's repository in turn, or an anonymous pull when none match.
async fn pull_with_secrets(
    rt: &dyn Runtime,
    image: &str,
    pull_secrets: &[Secret],
) -> anyhow::Result<PulledImage> {
    let keyring = Keyring::from_secrets(pull_secrets)?;
    let creds = match reference::normalize(image) {
        Ok(norm) if !keyring.is_empty() => keyring.lookup(reference::repository(&norm)),
        _ => Vec::new(),
    };
    if creds.is_empty() {
        return rt.pull_image(image, None).await;
    }
    let mut errors = Vec::new();
    for cred in &creds {
        match rt.pull_image(image, Some(cred)).await {
            Ok(p) => return Ok(p),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    Err(anyhow::anyhow!(aggregate(errors)))
}

/// Upstream's `utilerrors.NewAggregate(errs).Error()`: distinct messages, one alone as it is,
/// several as `[a, b]`.
fn aggregate(errors: Vec<String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for e in errors {
        if !seen.contains(&e) {
            seen.push(e);
        }
    }
    match seen.len() {
        1 => seen.remove(0),
        _ => format!("[{}]", seen.join(", ")),
    }
}

/// The image pull failure in an error's chain; an image that vanished between the pull and the
/// container's creation ([`ImageNotPresent`]) counts as a failed pull.
pub fn pull_error_in(e: &anyhow::Error) -> Option<ImagePullError> {
    e.chain().find_map(|c| {
        c.downcast_ref::<ImagePullError>().cloned().or_else(|| {
            c.downcast_ref::<ImageNotPresent>().map(|m| ImagePullError {
                image: m.image.clone(),
                container: String::new(),
                init: false,
                failure: PullFailure::ErrImagePull,
                message: m.to_string(),
            })
        })
    })
}

/// Records the kubelet's events for a failed pull (`Failed` "Error: ErrImagePull" /
/// "Error: ErrImageNeverPull", or while backing off `BackOff` "Back-off pulling image" and
/// `Failed` "Error: ImagePullBackOff") and returns the pod status patch that shows it.
pub fn report_failure(
    events: &EventSink,
    pod: &Pod,
    failed: &ImagePullError,
    backing_off: bool,
) -> serde_json::Value {
    let event = |ty: &str, reason: &str, msg: String| {
        events.container(pod, failed.init, &failed.container, ty, reason, msg);
    };
    if backing_off {
        event(
            "Normal",
            "BackOff",
            format!("Back-off pulling image \"{}\"", failed.image),
        );
    }
    let (reason, _) = waiting_state(failed, backing_off);
    event("Warning", "Failed", format!("Error: {reason}"));
    status_patch(pod, failed, backing_off)
}

/// The failing container's waiting (reason, message).
fn waiting_state(failed: &ImagePullError, backing_off: bool) -> (&'static str, String) {
    if backing_off {
        (
            "ImagePullBackOff",
            format!(
                "Back-off pulling image \"{}\": ErrImagePull: {}",
                failed.image, failed.message
            ),
        )
    } else {
        (failed.failure.reason(), failed.message.clone())
    }
}

/// The status merge patch of a pod whose container could not get its image: that container
/// waits with the pull's reason, the others with `ContainerCreating` (`PodInitializing` when an
/// init container failed).
pub fn status_patch(pod: &Pod, failed: &ImagePullError, backing_off: bool) -> serde_json::Value {
    let (reason, message) = waiting_state(failed, backing_off);
    let spec = pod.spec.clone().unwrap_or_default();
    // The failing container; by image for an image that vanished after its pull.
    let failing_one = |c: &Container| match failed.container.as_str() {
        "" => c.image.as_deref() == Some(failed.image.as_str()),
        name => c.name == name,
    };
    let status = |c: &Container, waiting: serde_json::Value| {
        serde_json::json!({"name": c.name, "image": c.image.clone().unwrap_or_default(), "imageID": "",
            "ready": false, "restartCount": 0, "started": false, "state": {"waiting": waiting}})
    };
    let failing = serde_json::json!({"reason": reason, "message": message});
    let initializing = serde_json::json!({"reason": "PodInitializing"});
    let mut patch = serde_json::json!({});
    if failed.init {
        let inits: Vec<_> = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| match failing_one(c) {
                true => status(c, failing.clone()),
                false => status(c, initializing.clone()),
            })
            .collect();
        patch["initContainerStatuses"] = inits.into();
    }
    let apps: Vec<_> = spec
        .containers
        .iter()
        .map(|c| match (failed.init, failing_one(c)) {
            (false, true) => status(c, failing.clone()),
            (true, _) => status(c, initializing.clone()),
            (false, false) => status(c, serde_json::json!({"reason": "ContainerCreating"})),
        })
        .collect();
    patch["containerStatuses"] = apps.into();
    serde_json::json!({ "status": patch })
}

/// A duration as Go's `time.Duration.String()` prints it after truncation to milliseconds
/// (`523ms`, `1.2s`, `1m2.5s`).
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&s.to_string());
    if frac > 0 {
        let f = format!("{frac:03}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('s');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_aggregate_like_upstream() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(aggregate(s(&["a"])), "a");
        assert_eq!(aggregate(s(&["a", "a"])), "a");
        assert_eq!(aggregate(s(&["a", "b", "a"])), "[a, b]");
    }

    #[test]
    fn durations_print_like_go() {
        let ms = Duration::from_millis;
        assert_eq!(go_duration(ms(0)), "0s");
        assert_eq!(go_duration(ms(523)), "523ms");
        assert_eq!(go_duration(ms(1200)), "1.2s");
        assert_eq!(go_duration(ms(1000)), "1s");
        assert_eq!(go_duration(ms(62_500)), "1m2.5s");
        assert_eq!(go_duration(ms(3_600_001)), "1h0m0.001s");
        assert_eq!(go_duration(Duration::from_micros(1_234_567)), "1.234s");
    }

    #[test]
    fn status_patch_marks_the_failing_container() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "setup", "image": "x:1"}],
                     "containers": [{"name": "a", "image": "r:5000/a:1"}, {"name": "b", "image": "b:1"}]}
        }))
        .unwrap();
        let failed = ImagePullError {
            image: "r:5000/a:1".into(),
            container: "a".into(),
            init: false,
            failure: PullFailure::ErrImagePull,
            message: "failed to pull and unpack image: not found".into(),
        };
        let p = status_patch(&pod, &failed, false);
        let w = |p: &serde_json::Value, list: &str, i: usize| {
            p["status"][list][i]["state"]["waiting"].clone()
        };
        assert_eq!(w(&p, "containerStatuses", 0)["reason"], "ErrImagePull");
        assert_eq!(
            w(&p, "containerStatuses", 0)["message"],
            "failed to pull and unpack image: not found"
        );
        assert_eq!(w(&p, "containerStatuses", 1)["reason"], "ContainerCreating");
        assert!(p["status"].get("initContainerStatuses").is_none());
        let p = status_patch(&pod, &failed, true);
        assert_eq!(w(&p, "containerStatuses", 0)["reason"], "ImagePullBackOff");
        assert_eq!(
            w(&p, "containerStatuses", 0)["message"],
            "Back-off pulling image \"r:5000/a:1\": ErrImagePull: failed to pull and unpack image: not found"
        );
        let init = ImagePullError {
            container: "setup".into(),
            init: true,
            failure: PullFailure::ErrImageNeverPull,
            ..failed
        };
        let p = status_patch(&pod, &init, false);
        assert_eq!(
            w(&p, "initContainerStatuses", 0)["reason"],
            "ErrImageNeverPull"
        );
        assert_eq!(w(&p, "containerStatuses", 0)["reason"], "PodInitializing");
        assert_eq!(w(&p, "containerStatuses", 1)["reason"], "PodInitializing");
    }

    #[test]
    fn default_pull_policy_follows_the_tag() {
        let c = |image: &str, policy: Option<&str>| Container {
            name: "c".into(),
            image: Some(image.into()),
            image_pull_policy: policy.map(str::to_string),
            ..Default::default()
        };
        assert_eq!(pull_policy(&c("busybox", None)), "Always");
        assert_eq!(pull_policy(&c("busybox:latest", None)), "Always");
        assert_eq!(pull_policy(&c("busybox:1.28", None)), "IfNotPresent");
        assert_eq!(pull_policy(&c("localhost:5000/app", None)), "Always");
        assert_eq!(
            pull_policy(&c("localhost:5000/app:v1", None)),
            "IfNotPresent"
        );
        assert_eq!(pull_policy(&c("app@sha256:00", None)), "IfNotPresent");
        assert_eq!(pull_policy(&c("busybox:1.28", Some("Never"))), "Never");
    }
}
