//! The kubelet's image manager (`pkg/kubelet/images`): applies a container's
//! `imagePullPolicy`, pulls through the [`Runtime`], and records the kubelet's events
//! (`Pulling`, `Pulled`, `Failed`, `ErrImageNeverPull`) on the container.
//!
//! A failure comes back as an [`ImagePullError`], which the agent turns into the container's
//! waiting reason (`ErrImagePull`, then `ImagePullBackOff` while it backs off, or
//! `ErrImageNeverPull`).

use crate::events::EventSink;
use crate::image::ImageNotPresent;
use crate::runtime::{ImageInfo, Runtime};
use k8s_openapi::api::core::v1::{Container, Pod};
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
/// `EnsureImageExists` does, with its events.
pub async fn ensure_image_exists(
    rt: &dyn Runtime,
    events: &EventSink,
    pod: &Pod,
    c: &Container,
    init: bool,
) -> anyhow::Result<ImageInfo> {
    let image = c.image.clone().unwrap_or_default();
    let policy = pull_policy(c);
    let present = match rt.ensure_image(&image).await {
        Ok(info) => Some(info),
        Err(e) if e.downcast_ref::<ImageNotPresent>().is_some() => None,
        Err(e) => return Err(e),
    };
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
    match rt.pull_image(&image).await {
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
