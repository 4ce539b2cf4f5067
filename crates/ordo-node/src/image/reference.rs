//! Image references normalised as docker does: `nginx:1.25.4` is
//! `docker.io/library/nginx:1.25.4`, `busybox` is `docker.io/library/busybox:latest`.

/// The registry of references without a domain.
pub const DEFAULT_DOMAIN: &str = "docker.io";

/// The fully qualified form of `reference`: `domain/path:tag` or `domain/path@digest`
/// (a reference with both a tag and a digest keeps both, like docker).
pub fn normalize(reference: &str) -> anyhow::Result<String> {
    let r = reference.trim();
    anyhow::ensure!(!r.is_empty(), "empty image reference");
    let (name_tag, digest) = match r.split_once('@') {
        Some((n, d)) => {
            anyhow::ensure!(
                d.contains(':') && !d.ends_with(':'),
                "image reference {reference:?}: bad digest {d:?}"
            );
            (n, Some(d))
        }
        None => (r, None),
    };
    // A tag is a ':' after the last '/'; a ':' before it belongs to a registry port.
    let last_slash = name_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_tag[..last_slash + i],
            Some(&name_tag[last_slash + i + 1..]),
        ),
        None => (name_tag, None),
    };
    anyhow::ensure!(
        !name.is_empty(),
        "image reference {reference:?} has no name"
    );
    if let Some(t) = tag {
        anyhow::ensure!(
            !t.is_empty()
                && t.len() <= 128
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)),
            "image reference {reference:?}: bad tag {t:?}"
        );
    }
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    let domain = if domain == "index.docker.io" {
        DEFAULT_DOMAIN.to_string()
    } else {
        domain
    };
    anyhow::ensure!(
        path.split('/').all(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))),
        "image reference {reference:?}: repository name must be lowercase letters, digits and separators"
    );
    let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    let mut out = format!("{domain}/{path}");
    match (tag, digest) {
        (Some(t), _) => {
            out.push(':');
            out.push_str(t);
        }
        (None, None) => out.push_str(":latest"),
        (None, Some(_)) => {}
    }
    if let Some(d) = digest {
        out.push('@');
        out.push_str(d);
    }
    Ok(out)
}

/// The repository part of a normalised reference (`docker.io/library/nginx`).
pub fn repository(normalized: &str) -> &str {
    let no_digest = normalized.split('@').next().unwrap_or(normalized);
    let last_slash = no_digest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match no_digest[last_slash..].rfind(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    }
}

/// The short form kubectl users write: `nginx:1.25.4` for `docker.io/library/nginx:1.25.4`.
pub fn familiar(normalized: &str) -> String {
    normalized
        .strip_prefix("docker.io/library/")
        .or_else(|| normalized.strip_prefix("docker.io/"))
        .unwrap_or(normalized)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_docker() {
        let n = |r: &str| normalize(r).unwrap();
        assert_eq!(n("nginx:1.25.4"), "docker.io/library/nginx:1.25.4");
        assert_eq!(n("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(n("busybox:1.28"), "docker.io/library/busybox:1.28");
        assert_eq!(
            n("docker.io/library/nginx:1.25.4"),
            "docker.io/library/nginx:1.25.4"
        );
        assert_eq!(
            n("index.docker.io/library/nginx"),
            "docker.io/library/nginx:latest"
        );
        assert_eq!(n("bitnami/redis:7"), "docker.io/bitnami/redis:7");
        assert_eq!(n("registry.k8s.io/pause:3.9"), "registry.k8s.io/pause:3.9");
        assert_eq!(n("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(n("localhost/app:v1"), "localhost/app:v1");
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            n(&format!("nginx@{d}")),
            format!("docker.io/library/nginx@{d}")
        );
        assert_eq!(
            n(&format!("nginx:1.25@{d}")),
            format!("docker.io/library/nginx:1.25@{d}")
        );
    }

    #[test]
    fn rejects_bad_references() {
        assert!(normalize("").is_err());
        assert!(normalize("Nginx").is_err());
        assert!(normalize("nginx:").is_err());
        assert!(normalize("nginx@sha256").is_err());
        assert!(normalize("a//b").is_err());
    }

    #[test]
    fn repository_and_familiar() {
        assert_eq!(
            repository("docker.io/library/nginx:1.25.4"),
            "docker.io/library/nginx"
        );
        assert_eq!(
            repository("localhost:5000/app:latest"),
            "localhost:5000/app"
        );
        assert_eq!(familiar("docker.io/library/nginx:1.25.4"), "nginx:1.25.4");
        assert_eq!(familiar("docker.io/bitnami/redis:7"), "bitnami/redis:7");
        assert_eq!(
            familiar("registry.k8s.io/pause:3.9"),
            "registry.k8s.io/pause:3.9"
        );
    }
}
