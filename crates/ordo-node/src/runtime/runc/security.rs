//! The security context of a container in its OCI spec, as the kubelet asks containerd for it
//! and containerd writes it: the kubelet's `runAsNonRoot` check, additional groups
//! (the image's group memberships, `supplementalGroups`, `fsGroup`), `readOnlyRootFilesystem`,
//! `privileged` (every capability and host device, no masked or read-only paths, writable
//! `/sys`), seccomp (`RuntimeDefault`, `Unconfined`) and the pod's `sysctls`, with the
//! kubelet's admission of safe sysctls. Pure but for [`host_devices`], which reads `/dev`.

use k8s_openapi::api::core::v1::{Container, Pod, PodSecurityContext, SeccompProfile};
use oci_spec::runtime::{
    Arch, Capabilities, Capability, LinuxDevice, LinuxDeviceCgroupBuilder, LinuxSeccomp,
    LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompBuilder, LinuxSeccompOperator,
    LinuxSyscallBuilder, Spec,
};
use std::collections::HashMap;
use std::path::PathBuf;

/// A container the kubelet refuses to create because of its configuration: shown as
/// `CreateContainerConfigError` (the message is the kubelet's).
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn pod_sc(pod: &Pod) -> Option<&PodSecurityContext> {
    pod.spec.as_ref().and_then(|s| s.security_context.as_ref())
}

/// The kubelet's `verifyRunAsNonRoot`: with `runAsNonRoot` (container over pod), a container
/// that would run as uid 0 — by `runAsUser`, or by the image's user when `runAsUser` is not
/// set (no user: root) — is refused, and so is an image user given by name, which cannot be
/// verified.
pub fn verify_run_as_non_root(
    pod: &Pod,
    c: &Container,
    image_user: Option<&str>,
) -> Result<(), ConfigError> {
    let csc = c.security_context.as_ref();
    let psc = pod_sc(pod);
    let non_root = csc
        .and_then(|s| s.run_as_non_root)
        .or_else(|| psc.and_then(|s| s.run_as_non_root))
        .unwrap_or(false);
    if !non_root {
        return Ok(());
    }
    let at = format!(
        "(pod: {:?}, container: {})",
        crate::lifecycle::format_pod(pod),
        c.name
    );
    let run_as_user = csc
        .and_then(|s| s.run_as_user)
        .or_else(|| psc.and_then(|s| s.run_as_user));
    if let Some(u) = run_as_user {
        return match u {
            0 => Err(ConfigError(format!(
                "container's runAsUser breaks non-root policy {at}"
            ))),
            _ => Ok(()),
        };
    }
    // The image's user as containerd reports it: a numeric uid (before any `:group`), or a name.
    let user = image_user
        .map(|u| u.split_once(':').map(|(u, _)| u).unwrap_or(u))
        .unwrap_or_default();
    match user.parse::<i64>() {
        _ if user.is_empty() => Err(ConfigError(format!(
            "container has runAsNonRoot and image will run as root {at}"
        ))),
        Ok(0) => Err(ConfigError(format!(
            "container has runAsNonRoot and image will run as root {at}"
        ))),
        Ok(_) => Ok(()),
        Err(_) => Err(ConfigError(format!(
            "container has runAsNonRoot and image has non-numeric user ({user}), cannot verify user is non-root {at}"
        ))),
    }
}

/// The process's additional gids, as containerd sets them: the primary gid, the groups of the
/// image's `/etc/group` that list the user by name, then the pod's `supplementalGroups` and
/// its `fsGroup` (what the kubelet passes), without repeats.
pub fn additional_gids(pod: &Pod, uid: u32, gid: u32, passwd: &str, group: &str) -> Vec<u32> {
    let name = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && f[2].parse::<u32>() == Ok(uid)).then(|| f[0].to_string())
    });
    let mut out = vec![gid];
    if let Some(name) = name {
        for l in group.lines() {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() >= 4 && f[0] != name && f[3].split(',').any(|m| m.trim() == name) {
                if let Ok(g) = f[2].parse() {
                    out.push(g);
                }
            }
        }
    }
    let psc = pod_sc(pod);
    let supplemental = psc.and_then(|s| s.supplemental_groups.clone());
    for g in supplemental
        .into_iter()
        .flatten()
        .chain(psc.and_then(|s| s.fs_group))
    {
        if let Ok(g) = u32::try_from(g) {
            out.push(g);
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|g| seen.insert(*g));
    out
}

/// Whether the container is `privileged`.
pub fn privileged(c: &Container) -> bool {
    c.security_context
        .as_ref()
        .and_then(|s| s.privileged)
        .unwrap_or(false)
}

/// The seccomp profile in effect (container over pod); None: unconfined, the kubelet's default.
fn seccomp_profile<'a>(pod: &'a Pod, c: &'a Container) -> Option<&'a SeccompProfile> {
    c.security_context
        .as_ref()
        .and_then(|s| s.seccomp_profile.as_ref())
        .or_else(|| pod_sc(pod).and_then(|s| s.seccomp_profile.as_ref()))
}

/// Syscalls containerd's default profile refuses unless the container holds the capability
/// (None: refused whatever the capabilities).
const REFUSED: &[(&str, Option<Capability>)] = &[
    ("acct", Some(Capability::SysPacct)),
    ("add_key", None),
    ("bpf", Some(Capability::SysAdmin)),
    ("clock_adjtime", Some(Capability::SysTime)),
    ("clock_settime", Some(Capability::SysTime)),
    ("create_module", Some(Capability::SysModule)),
    ("delete_module", Some(Capability::SysModule)),
    ("finit_module", Some(Capability::SysModule)),
    ("fanotify_init", Some(Capability::SysAdmin)),
    ("fsconfig", Some(Capability::SysAdmin)),
    ("fsmount", Some(Capability::SysAdmin)),
    ("fsopen", Some(Capability::SysAdmin)),
    ("fspick", Some(Capability::SysAdmin)),
    ("get_kernel_syms", None),
    ("get_mempolicy", Some(Capability::SysNice)),
    ("init_module", Some(Capability::SysModule)),
    ("ioperm", Some(Capability::SysRawio)),
    ("iopl", Some(Capability::SysRawio)),
    ("kcmp", Some(Capability::SysPtrace)),
    ("kexec_file_load", Some(Capability::SysBoot)),
    ("kexec_load", Some(Capability::SysBoot)),
    ("keyctl", None),
    ("lookup_dcookie", Some(Capability::SysAdmin)),
    ("mbind", Some(Capability::SysNice)),
    ("mount", Some(Capability::SysAdmin)),
    ("mount_setattr", Some(Capability::SysAdmin)),
    ("move_mount", Some(Capability::SysAdmin)),
    ("move_pages", Some(Capability::SysNice)),
    ("name_to_handle_at", Some(Capability::SysAdmin)),
    ("nfsservctl", None),
    ("open_by_handle_at", Some(Capability::DacReadSearch)),
    ("open_tree", Some(Capability::SysAdmin)),
    ("perf_event_open", Some(Capability::Perfmon)),
    ("pivot_root", Some(Capability::SysAdmin)),
    ("process_vm_readv", Some(Capability::SysPtrace)),
    ("process_vm_writev", Some(Capability::SysPtrace)),
    ("query_module", None),
    ("quotactl", Some(Capability::SysAdmin)),
    ("reboot", Some(Capability::SysBoot)),
    ("request_key", None),
    ("set_mempolicy", Some(Capability::SysNice)),
    ("setdomainname", Some(Capability::SysAdmin)),
    ("sethostname", Some(Capability::SysAdmin)),
    ("setns", Some(Capability::SysAdmin)),
    ("settimeofday", Some(Capability::SysTime)),
    ("stime", Some(Capability::SysTime)),
    ("swapoff", Some(Capability::SysAdmin)),
    ("swapon", Some(Capability::SysAdmin)),
    ("syslog", Some(Capability::Syslog)),
    ("_sysctl", None),
    ("sysfs", None),
    ("umount", Some(Capability::SysAdmin)),
    ("umount2", Some(Capability::SysAdmin)),
    ("unshare", Some(Capability::SysAdmin)),
    ("uselib", None),
    ("userfaultfd", None),
    ("ustat", None),
    ("vm86", None),
    ("vm86old", None),
];

/// `clone` flags that create namespaces: refused without `CAP_SYS_ADMIN`.
const CLONE_NAMESPACE_FLAGS: &[u64] = &[
    0x0002_0000, // CLONE_NEWNS
    0x0200_0000, // CLONE_NEWCGROUP
    0x0400_0000, // CLONE_NEWUTS
    0x0800_0000, // CLONE_NEWIPC
    0x1000_0000, // CLONE_NEWUSER
    0x2000_0000, // CLONE_NEWPID
    0x4000_0000, // CLONE_NEWNET
];

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// The `RuntimeDefault` profile: the syscalls containerd's default profile refuses to a
/// container without the matching capability fail with `EPERM`, namespace-creating `clone`
/// flags too (`clone3`, whose flags cannot be inspected, fails with `ENOSYS` so that libc
/// falls back to `clone`). Written as a deny list over an allowing default rather than
/// containerd's allow list: the same syscalls are refused, syscalls newer than the list are
/// allowed.
pub fn runtime_default_profile(caps: &Capabilities) -> anyhow::Result<LinuxSeccomp> {
    let mut refused: Vec<String> = REFUSED
        .iter()
        .filter(|(_, cap)| cap.is_none_or(|c| !caps.contains(&c)))
        .map(|(name, _)| name.to_string())
        .collect();
    refused.sort();
    let mut syscalls = vec![LinuxSyscallBuilder::default()
        .names(refused)
        .action(LinuxSeccompAction::ScmpActErrno)
        .errno_ret(EPERM)
        .build()?];
    if !caps.contains(&Capability::SysAdmin) {
        syscalls.push(
            LinuxSyscallBuilder::default()
                .names(vec!["clone3".to_string()])
                .action(LinuxSeccompAction::ScmpActErrno)
                .errno_ret(ENOSYS)
                .build()?,
        );
        for flag in CLONE_NAMESPACE_FLAGS {
            syscalls.push(
                LinuxSyscallBuilder::default()
                    .names(vec!["clone".to_string()])
                    .action(LinuxSeccompAction::ScmpActErrno)
                    .errno_ret(EPERM)
                    .args(vec![LinuxSeccompArgBuilder::default()
                        .index(clone_flags_arg())
                        .value(*flag)
                        .value_two(*flag)
                        .op(LinuxSeccompOperator::ScmpCmpMaskedEq)
                        .build()?])
                    .build()?,
            );
        }
    }
    Ok(LinuxSeccompBuilder::default()
        .default_action(LinuxSeccompAction::ScmpActAllow)
        .architectures(architectures())
        .syscalls(syscalls)
        .build()?)
}

/// The argument of `clone` that holds the flags (the second on s390x, else the first).
fn clone_flags_arg() -> usize {
    usize::from(std::env::consts::ARCH == "s390x")
}

fn architectures() -> Vec<Arch> {
    match std::env::consts::ARCH {
        "x86_64" => vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32],
        "aarch64" => vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm],
        _ => vec![Arch::ScmpArchNative],
    }
}

/// The seccomp filter of the container: `RuntimeDefault` (and the deprecated
/// `runtime/default` annotation value's successor) gives [`runtime_default_profile`];
/// `Unconfined`, no profile or a privileged container get none; `Localhost` profiles are
/// not supported and refuse the container.
pub fn seccomp(
    pod: &Pod,
    c: &Container,
    caps: &Capabilities,
) -> Result<Option<LinuxSeccomp>, ConfigError> {
    let Some(p) = seccomp_profile(pod, c) else {
        return Ok(None);
    };
    match p.type_.as_str() {
        _ if privileged(c) => Ok(None),
        "RuntimeDefault" => runtime_default_profile(caps)
            .map(Some)
            .map_err(|e| ConfigError(format!("seccomp profile: {e}"))),
        "Unconfined" => Ok(None),
        "Localhost" => Err(ConfigError(format!(
            "seccomp profile {:?}: Localhost profiles are not supported by ordo",
            p.localhost_profile.as_deref().unwrap_or_default()
        ))),
        t => Err(ConfigError(format!("unknown seccomp profile type {t:?}"))),
    }
}

/// The safe sysctls (the kubelet's `SafeSysctlAllowlist`) and the namespace each is in.
const SAFE_SYSCTLS: &[(&str, &str)] = &[
    ("kernel.shm_rmid_forced", "IPC"),
    ("net.ipv4.ip_local_port_range", "net"),
    ("net.ipv4.tcp_syncookies", "net"),
    ("net.ipv4.ping_group_range", "net"),
    ("net.ipv4.ip_unprivileged_port_start", "net"),
    ("net.ipv4.ip_local_reserved_ports", "net"),
    ("net.ipv4.tcp_keepalive_time", "net"),
    ("net.ipv4.tcp_fin_timeout", "net"),
    ("net.ipv4.tcp_keepalive_intvl", "net"),
    ("net.ipv4.tcp_keepalive_probes", "net"),
    ("net.ipv4.tcp_rmem", "net"),
    ("net.ipv4.tcp_wmem", "net"),
];

/// A sysctl name with dots as separators: `net/ipv4/tcp_rmem` and the kernel's own
/// `a.b/c.d` spelling (dots and slashes swapped) become `net.ipv4.tcp_rmem`, `a/b.c/d`.
pub fn normalize_sysctl(name: &str) -> String {
    let Some(first) = name.find(['.', '/']) else {
        return name.to_string();
    };
    if name.as_bytes()[first] == b'.' {
        return name.to_string();
    }
    name.chars()
        .map(|c| match c {
            '/' => '.',
            '.' => '/',
            c => c,
        })
        .collect()
}

/// The kubelet's sysctl admission: the message of the first sysctl of the pod that is not
/// safe, or not allowed with the host's network namespace (`forbidden sysctl: ...`).
pub fn forbidden_sysctl(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let host_net = spec.host_network.unwrap_or(false);
    let host_ipc = spec.host_ipc.unwrap_or(false);
    for s in pod_sc(pod)?.sysctls.iter().flatten() {
        let name = normalize_sysctl(&s.name);
        let err = match SAFE_SYSCTLS.iter().find(|(n, _)| *n == name) {
            None => format!("{name:?} not allowlisted"),
            Some((_, ns)) if (*ns == "net" && host_net) || (*ns == "IPC" && host_ipc) => {
                format!("{name:?} not allowed with host {ns} enabled")
            }
            Some(_) => continue,
        };
        return Some(format!("forbidden sysctl: {err}"));
    }
    None
}

/// The reason the kubelet gives a pod its sysctl admission rejects.
pub const SYSCTL_FORBIDDEN: &str = "SysctlForbidden";

/// The pod's sysctls as the runtime sets them in each container.
pub fn sysctls(pod: &Pod) -> HashMap<String, String> {
    pod_sc(pod)
        .and_then(|s| s.sysctls.as_ref())
        .into_iter()
        .flatten()
        .map(|s| (normalize_sysctl(&s.name), s.value.clone()))
        .collect()
}

/// Applies the security context to a spec built for `c`: additional gids, read-only root,
/// seccomp, sysctls, and for a privileged container the host's `devices`, every device
/// allowed, nothing masked or read-only, `/sys` writable.
pub fn apply(
    spec: &mut Spec,
    pod: &Pod,
    c: &Container,
    groups: &[u32],
    devices: &[LinuxDevice],
) -> anyhow::Result<()> {
    let caps = spec
        .process()
        .as_ref()
        .and_then(|p| p.capabilities().as_ref())
        .and_then(|c| c.bounding().clone())
        .unwrap_or_default();
    let seccomp = seccomp(pod, c, &caps)?;
    if let Some(p) = spec.process_mut() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(groups.to_vec()).filter(|g| !g.is_empty()));
        p.set_user(user);
    }
    let read_only = c
        .security_context
        .as_ref()
        .and_then(|s| s.read_only_root_filesystem)
        .unwrap_or(false);
    if let Some(root) = spec.root_mut() {
        root.set_readonly(Some(read_only));
    }
    let privileged = privileged(c);
    if privileged {
        for m in spec.mounts_mut().iter_mut().flatten() {
            if m.destination() == &PathBuf::from("/sys") {
                let opts = m.options().clone().unwrap_or_default();
                m.set_options(Some(
                    opts.into_iter()
                        .map(|o| if o == "ro" { "rw".into() } else { o })
                        .collect(),
                ));
            }
        }
    }
    if let Some(linux) = spec.linux_mut() {
        linux.set_seccomp(seccomp);
        let sysctl = sysctls(pod);
        linux.set_sysctl(Some(sysctl).filter(|s| !s.is_empty()));
        if privileged {
            linux.set_masked_paths(None);
            linux.set_readonly_paths(None);
            linux.set_devices(Some(devices.to_vec()).filter(|d| !d.is_empty()));
            if let Some(r) = linux.resources_mut() {
                r.set_devices(Some(vec![LinuxDeviceCgroupBuilder::default()
                    .allow(true)
                    .access("rwm")
                    .build()?]));
            }
        }
    }
    Ok(())
}

/// The host's devices for a privileged container, as containerd lists them: every block and
/// character device under `/dev` but for the pseudo-terminals, shared memory and message
/// queues (which the container has its own of).
pub fn host_devices() -> Vec<LinuxDevice> {
    use oci_spec::runtime::{LinuxDeviceBuilder, LinuxDeviceType};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    fn walk(dir: &std::path::Path, out: &mut Vec<LinuxDevice>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let path = e.path();
            let Ok(md) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let ft = md.file_type();
            if ft.is_dir() {
                let skip = ["pts", "shm", "mqueue", ".lxc", ".lxd-mounts", ".udev"];
                if !skip.iter().any(|s| e.file_name() == *s) {
                    walk(&path, out);
                }
                continue;
            }
            let typ = if ft.is_block_device() {
                LinuxDeviceType::B
            } else if ft.is_char_device() {
                LinuxDeviceType::C
            } else {
                continue;
            };
            if path == std::path::Path::new("/dev/console") {
                continue;
            }
            let rdev = md.rdev();
            let dev = LinuxDeviceBuilder::default()
                .path(path)
                .typ(typ)
                .major(nix::sys::stat::major(rdev) as i64)
                .minor(nix::sys::stat::minor(rdev) as i64)
                .file_mode(md.mode() & 0o7777)
                .uid(md.uid())
                .gid(md.gid())
                .build();
            if let Ok(d) = dev {
                out.push(d);
            }
        }
    }
    let mut out = Vec::new();
    walk(std::path::Path::new("/dev"), &mut out);
    out
}

#[cfg(test)]
#[path = "security_tests.rs"]
mod tests;
