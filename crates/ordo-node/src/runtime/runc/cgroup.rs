//! The containers' cgroups as runc makes them (cgroupfs driver): `/ordo/<id>` under each
//! cgroup v1 controller, or under the cgroup v2 root. Their OOM-kill counters tell whether the
//! kernel's OOM killer ended a container (`OOMKilled`).

use std::path::Path;

/// The cgroup every container's cgroup is created under.
pub const PARENT: &str = "/ordo";

/// The cgroup path of container `id` (the spec's `linux.cgroupsPath`).
pub fn path_of(id: &str) -> String {
    format!("{PARENT}/{id}")
}

/// The `oom_kill` counter in a `memory.events` (v2) or `memory.oom_control` (v1) file.
pub fn parse_oom_kill(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == "oom_kill").then(|| v.trim().parse().ok()).flatten()
    })
}

/// How many processes the OOM killer killed in the cgroup at `cgroups_path` (0 when it cannot
/// be read: no memory controller, or the cgroup is gone).
pub fn oom_kills(cgroups_path: &str) -> u64 {
    oom_kills_under(Path::new("/sys/fs/cgroup"), cgroups_path)
}

fn oom_kills_under(root: &Path, cgroups_path: &str) -> u64 {
    let rel = cgroups_path.trim_start_matches('/');
    [
        root.join("memory").join(rel).join("memory.oom_control"),
        root.join(rel).join("memory.events"),
    ]
    .iter()
    .filter_map(|f| std::fs::read_to_string(f).ok())
    .find_map(|t| parse_oom_kill(&t))
    .unwrap_or(0)
}

/// Removes the (empty) `/ordo` cgroups runc created under each v1 controller.
pub fn remove_parents() {
    let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let _ = std::fs::remove_dir(e.path().join(PARENT.trim_start_matches('/')));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_kill_counters_of_both_cgroup_versions() {
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
        let v2 = "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(parse_oom_kill(v1), Some(2));
        assert_eq!(parse_oom_kill(v2), Some(1));
        assert_eq!(parse_oom_kill("oom 3\n"), None);
        let root = tempfile::tempdir().unwrap();
        assert_eq!(oom_kills_under(root.path(), "/ordo/a"), 0);
        let v1dir = root.path().join("memory/ordo/a");
        std::fs::create_dir_all(&v1dir).unwrap();
        std::fs::write(v1dir.join("memory.oom_control"), v1).unwrap();
        assert_eq!(oom_kills_under(root.path(), "/ordo/a"), 2);
        let v2dir = root.path().join("ordo/b");
        std::fs::create_dir_all(&v2dir).unwrap();
        std::fs::write(v2dir.join("memory.events"), v2).unwrap();
        assert_eq!(oom_kills_under(root.path(), &path_of("b")), 1);
    }
}
