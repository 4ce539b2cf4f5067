//! The OCI runtime spec (`config.json`) of one container, from the pod, the container and the
//! image config: argv merged as Kubernetes does, environment, user, capabilities, mounts of
//! the pod's `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf`, namespaces (the pod's
//! network namespace shared) and cgroup limits; the rest of the security context is
//! [`super::security`]'s. Pure but for the capability bounding set ordo holds, read once.

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use oci_spec::image::Config as ImageConfig;
use oci_spec::runtime::{
    Capabilities, Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxDeviceCgroupBuilder,
    LinuxMemoryBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, LinuxResourcesBuilder,
    MountBuilder, PosixRlimit, ProcessBuilder, RootBuilder, Spec, UserBuilder,
};
use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::str::FromStr;

/// The capabilities container runtimes grant by default (containerd, Docker), NET_RAW included.
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// Everything the spec is made from.
pub struct BundleInput<'a> {
    pub pod: &'a Pod,
    pub container: &'a Container,
    pub image: Option<&'a ImageConfig>,
    pub rootfs: PathBuf,
    /// The pod's network namespace; None: host network.
    pub netns: Option<PathBuf>,
    /// The process namespace to join: the pod's shared one (`shareProcessNamespace`) or an
    /// ephemeral container's target's; None: its own (or the host's with `hostPID`).
    pub pid_ns: Option<PathBuf>,
    /// The IPC namespace to join (an ephemeral container's, its target's); None: its own
    /// (or the host's with `hostIPC`).
    pub ipc_ns: Option<PathBuf>,
    /// The UTS namespace to join (an ephemeral container's, its target's); None: its own.
    pub uts_ns: Option<PathBuf>,
    pub hostname: String,
    pub pod_ip: Option<Ipv4Addr>,
    pub host_ip: String,
    /// The Service variables ([`super::service_env`]), before the container's own.
    pub service_env: Vec<(String, String)>,
    /// Files bind-mounted on `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`.
    pub hosts: PathBuf,
    pub hostname_file: PathBuf,
    pub resolv_conf: PathBuf,
    pub cgroups_path: String,
    /// uid, gid (resolved against the image's /etc/passwd by the caller).
    pub user: (u32, u32),
    /// Additional gids ([`super::security::additional_gids`]).
    pub groups: Vec<u32>,
    /// The host's devices, given to a privileged container ([`super::security::host_devices`]).
    pub devices: Vec<oci_spec::runtime::LinuxDevice>,
}

/// The runtime spec of the container.
pub fn spec(i: &BundleInput) -> anyhow::Result<Spec> {
    let mut env = environment(
        i.pod,
        i.container,
        i.image,
        i.pod_ip,
        &i.host_ip,
        &i.hostname,
        &i.service_env,
    );
    // A terminal (`tty: true`, attached with a console socket), with `TERM` as containerd sets it.
    let tty = i.container.tty.unwrap_or(false);
    if tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let args = argv(i.container, i.image, &env)?;
    let cwd = i
        .container
        .working_dir
        .clone()
        .filter(|w| !w.is_empty())
        .or_else(|| {
            i.image
                .and_then(|c| c.working_dir().clone())
                .filter(|w| !w.is_empty())
        })
        .unwrap_or_else(|| "/".into());
    let caps = capabilities(i.container);
    let no_new_privs = security(i.container)
        .and_then(|s| s.allow_privilege_escalation)
        .map(|a| !a)
        .unwrap_or(false);
    let process = ProcessBuilder::default()
        .terminal(tty)
        .user(UserBuilder::default().uid(i.user.0).gid(i.user.1).build()?)
        .args(args)
        .env(env)
        .cwd(cwd)
        .capabilities(
            LinuxCapabilitiesBuilder::default()
                .bounding(caps.clone())
                .effective(caps.clone())
                .permitted(caps)
                .inheritable(Capabilities::new())
                .ambient(Capabilities::new())
                .build()?,
        )
        // No rlimits: the container inherits ordo's (a fixed value may exceed the hard limit).
        .rlimits(Vec::<PosixRlimit>::new())
        .no_new_privileges(no_new_privs)
        .build()?;
    let mut mounts = oci_spec::runtime::get_default_mounts();
    // Docker's /dev/shm size (the OCI default is 64k).
    for m in mounts
        .iter_mut()
        .filter(|m| m.destination() == &PathBuf::from("/dev/shm"))
    {
        m.set_options(Some(vec![
            "nosuid".into(),
            "noexec".into(),
            "nodev".into(),
            "mode=1777".into(),
            "size=65536k".into(),
        ]));
    }
    for (dst, src) in [
        ("/etc/hosts", &i.hosts),
        ("/etc/hostname", &i.hostname_file),
        ("/etc/resolv.conf", &i.resolv_conf),
    ] {
        mounts.push(
            MountBuilder::default()
                .destination(dst)
                .typ("bind")
                .source(src.clone())
                .options(vec!["rbind".to_string(), "rprivate".into(), "rw".into()])
                .build()?,
        );
    }
    let namespaces = namespaces(i)?;
    let mut resources =
        LinuxResourcesBuilder::default().devices(vec![LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()?]);
    let limits = i
        .container
        .resources
        .as_ref()
        .and_then(|r| r.limits.clone())
        .unwrap_or_default();
    let requests = i
        .container
        .resources
        .as_ref()
        .and_then(|r| r.requests.clone())
        .unwrap_or_default();
    if let Some(bytes) = limits.get("memory").and_then(|q| parse_bytes(&q.0)) {
        resources = resources.memory(LinuxMemoryBuilder::default().limit(bytes).build()?);
    }
    let milli = |m: &BTreeMap<String, Quantity>| m.get("cpu").and_then(|q| parse_millicpu(&q.0));
    resources = resources.cpu(super::cpu::linux_cpu(milli(&requests), milli(&limits))?);
    let linux = LinuxBuilder::default()
        .namespaces(namespaces)
        .resources(resources.build()?)
        .cgroups_path(PathBuf::from(&i.cgroups_path))
        .masked_paths(oci_spec::runtime::get_default_maskedpaths())
        .readonly_paths(oci_spec::runtime::get_default_readonly_paths())
        .build()?;
    let mut spec = Spec::default();
    spec.set_process(Some(process))
        .set_root(Some(
            RootBuilder::default()
                .path(i.rootfs.clone())
                .readonly(false)
                .build()?,
        ))
        .set_hostname(Some(i.hostname.clone()))
        .set_mounts(Some(mounts))
        .set_linux(Some(linux));
    super::security::apply(&mut spec, i.pod, i.container, &i.groups, &i.devices)?;
    Ok(spec)
}

/// The container's namespaces: a new mount namespace; process, IPC and UTS namespaces new or
/// joined ([`BundleInput::pid_ns`]...); the pod's network namespace. `hostPID` and `hostIPC`
/// leave out the process and IPC namespaces (the container is in the host's, as with
/// containerd's `NODE` namespace mode), `hostNetwork` the network one.
fn namespaces(i: &BundleInput) -> anyhow::Result<Vec<oci_spec::runtime::LinuxNamespace>> {
    let spec = i.pod.spec.as_ref();
    let host_pid = spec.and_then(|s| s.host_pid).unwrap_or(false);
    let host_ipc = spec.and_then(|s| s.host_ipc).unwrap_or(false);
    let kinds = [
        (LinuxNamespaceType::Pid, &i.pid_ns, host_pid),
        (LinuxNamespaceType::Ipc, &i.ipc_ns, host_ipc),
        (LinuxNamespaceType::Uts, &i.uts_ns, false),
        (LinuxNamespaceType::Mount, &None, false),
        (LinuxNamespaceType::Network, &i.netns, i.netns.is_none()),
    ];
    let mut out = Vec::new();
    for (typ, path, _) in kinds.into_iter().filter(|(_, _, host)| !host) {
        let mut ns = LinuxNamespaceBuilder::default().typ(typ);
        if let Some(p) = path {
            ns = ns.path(p.clone());
        }
        out.push(ns.build()?);
    }
    Ok(out)
}

fn security(c: &Container) -> Option<&k8s_openapi::api::core::v1::SecurityContext> {
    c.security_context.as_ref()
}

/// The container's argv: `command` replaces the image Entrypoint and drops its Cmd; `args`
/// replaces Cmd. `$(VAR)` references are expanded from the container's environment.
pub fn argv(
    c: &Container,
    image: Option<&ImageConfig>,
    env: &[String],
) -> anyhow::Result<Vec<String>> {
    let entrypoint = image
        .and_then(|i| i.entrypoint().clone())
        .unwrap_or_default();
    let cmd = image.and_then(|i| i.cmd().clone()).unwrap_or_default();
    let command = c.command.clone().filter(|v| !v.is_empty());
    let args = c.args.clone().filter(|v| !v.is_empty());
    let mut out: Vec<String> = match (command, args) {
        (Some(command), args) => command
            .iter()
            .map(|s| expand(s, env))
            .chain(args.unwrap_or_default().iter().map(|s| expand(s, env)))
            .collect(),
        (None, Some(args)) => entrypoint
            .into_iter()
            .chain(args.iter().map(|s| expand(s, env)))
            .collect(),
        (None, None) => entrypoint.into_iter().chain(cmd).collect(),
    };
    if out.is_empty() {
        anyhow::bail!("container {:?} has no command: the image has no Entrypoint or Cmd and the pod sets none", c.name);
    }
    out.shrink_to_fit();
    Ok(out)
}

/// Kubernetes variable expansion: `$(NAME)` is replaced by its value when defined, `$$(NAME)`
/// escapes to `$(NAME)`, anything else stays as written.
pub fn expand(s: &str, env: &[String]) -> String {
    let lookup = |name: &str| {
        env.iter().rev().find_map(|kv| {
            kv.split_once('=')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    };
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `KEY=value` pairs: the image's, then HOSTNAME, the Services', then the container's (later
/// ones win, in the image's order). `valueFrom.fieldRef` is resolved from the pod; config maps and secrets
/// are not available to the runtime yet and are left out.
pub fn environment(
    pod: &Pod,
    c: &Container,
    image: Option<&ImageConfig>,
    pod_ip: Option<Ipv4Addr>,
    host_ip: &str,
    hostname: &str,
    service_env: &[(String, String)],
) -> Vec<String> {
    let mut env: Vec<(String, String)> = Vec::new();
    let set = |k: String, v: String, env: &mut Vec<(String, String)>| match env
        .iter_mut()
        .find(|(ek, _)| *ek == k)
    {
        Some(e) => e.1 = v,
        None => env.push((k, v)),
    };
    for kv in image.and_then(|i| i.env().clone()).unwrap_or_default() {
        let (k, v) = kv.split_once('=').unwrap_or((&kv, ""));
        set(k.to_string(), v.to_string(), &mut env);
    }
    set("HOSTNAME".into(), hostname.into(), &mut env);
    for (k, v) in service_env {
        set(k.clone(), v.clone(), &mut env);
    }
    for e in c.env.iter().flatten() {
        let so_far: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let value = if let Some(v) = &e.value {
            Some(expand(v, &so_far))
        } else if let Some(f) = e.value_from.as_ref().and_then(|vf| vf.field_ref.as_ref()) {
            field_value(pod, &f.field_path, pod_ip, host_ip)
        } else if e.value_from.is_none() {
            Some(String::new())
        } else {
            None
        };
        if let Some(v) = value {
            set(e.name.clone(), v, &mut env);
        }
    }
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// The downward API value of `path` (`metadata.name`, `status.podIP`...).
pub fn field_value(
    pod: &Pod,
    path: &str,
    pod_ip: Option<Ipv4Addr>,
    host_ip: &str,
) -> Option<String> {
    let m = &pod.metadata;
    let spec = pod.spec.as_ref();
    let bracket = |p: &str, prefix: &str| {
        p.strip_prefix(prefix)
            .and_then(|r| r.strip_prefix("['").and_then(|r| r.strip_suffix("']")))
            .map(str::to_string)
    };
    Some(match path {
        "metadata.name" => m.name.clone().unwrap_or_default(),
        "metadata.namespace" => m.namespace.clone().unwrap_or_else(|| "default".into()),
        "metadata.uid" => m.uid.clone().unwrap_or_default(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.podIP" | "status.podIPs" => pod_ip
            .map(|i| i.to_string())
            .unwrap_or_else(|| host_ip.to_string()),
        "status.hostIP" | "status.hostIPs" => host_ip.to_string(),
        p => {
            if let Some(k) = bracket(p, "metadata.labels") {
                m.labels
                    .as_ref()
                    .and_then(|l| l.get(&k).cloned())
                    .unwrap_or_default()
            } else if let Some(k) = bracket(p, "metadata.annotations") {
                m.annotations
                    .as_ref()
                    .and_then(|l| l.get(&k).cloned())
                    .unwrap_or_default()
            } else {
                return None;
            }
        }
    })
}

/// The default set with the container's `securityContext.capabilities` added and dropped
/// (`ALL` works in both).
pub fn capabilities(c: &Container) -> Capabilities {
    let parse = |s: &str| Capability::from_str(s.trim_start_matches("CAP_")).ok();
    let mut set: HashSet<Capability> = DEFAULT_CAPABILITIES
        .iter()
        .filter_map(|s| parse(s))
        .collect();
    let sc = security(c);
    if sc.and_then(|s| s.privileged).unwrap_or(false) {
        return all_capabilities();
    }
    if let Some(caps) = sc.and_then(|s| s.capabilities.as_ref()) {
        for d in caps.drop.iter().flatten() {
            if d.eq_ignore_ascii_case("ALL") {
                set.clear();
            } else if let Some(c) = parse(&d.to_ascii_uppercase()) {
                set.remove(&c);
            }
        }
        for a in caps.add.iter().flatten() {
            if a.eq_ignore_ascii_case("ALL") {
                set = all_capabilities();
            } else if let Some(c) = parse(&a.to_ascii_uppercase()) {
                set.insert(c);
            }
        }
    }
    // Never more than ordo holds: runc cannot grant the rest.
    let all = all_capabilities();
    set.retain(|c| all.contains(c));
    set
}

/// Every capability, in the kernel's bit order (`CAP_CHOWN` is bit 0).
const ALL_CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The capabilities in ordo's own bounding set (read once): what a privileged container or
/// `add: [ALL]` gets, as containerd grants its current capabilities; a container cannot get
/// more (runc would fail to apply them).
fn all_capabilities() -> Capabilities {
    static MASK: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let mask = *MASK.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("CapBnd:"))
                    .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            })
            .unwrap_or(u64::MAX)
    });
    ALL_CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1u64 << bit) != 0)
        .filter_map(|(_, s)| Capability::from_str(s).ok())
        .collect()
}

/// The uid and gid the container runs as: `runAsUser`/`runAsGroup` (container over pod),
/// else the image's `User` (`uid`, `name`, `uid:gid`, `name:group`) looked up in the image's
/// `/etc/passwd` and `/etc/group` contents.
pub fn user(
    pod: &Pod,
    c: &Container,
    image_user: Option<&str>,
    passwd: &str,
    group: &str,
) -> anyhow::Result<(u32, u32)> {
    let psc = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let csc = security(c);
    let run_as_user = csc
        .and_then(|s| s.run_as_user)
        .or_else(|| psc.and_then(|s| s.run_as_user));
    let run_as_group = csc
        .and_then(|s| s.run_as_group)
        .or_else(|| psc.and_then(|s| s.run_as_group));
    let lookup_user = |name: &str| -> Option<(u32, u32)> {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && (f[0] == name || f[2] == name))
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        })
    };
    let lookup_group = |name: &str| -> Option<u32> {
        name.parse().ok().or_else(|| {
            group.lines().find_map(|l| {
                l.split(':')
                    .collect::<Vec<_>>()
                    .get(2)
                    .filter(|_| l.split(':').next() == Some(name))
                    .and_then(|g| g.parse().ok())
            })
        })
    };
    let (mut uid, mut gid) = (0u32, 0u32);
    if let Some(u) = image_user.filter(|u| !u.is_empty()) {
        let (un, gn) = u
            .split_once(':')
            .map(|(a, b)| (a, Some(b)))
            .unwrap_or((u, None));
        match (un.parse::<u32>(), lookup_user(un)) {
            (_, Some((pu, pg))) => (uid, gid) = (pu, pg),
            (Ok(n), None) => (uid, gid) = (n, 0),
            (Err(_), None) => anyhow::bail!("image user {un:?} is not in the image's /etc/passwd"),
        }
        if let Some(g) = gn {
            gid = lookup_group(g).ok_or_else(|| {
                anyhow::anyhow!("image group {g:?} is not in the image's /etc/group")
            })?;
        }
    }
    if let Some(u) = run_as_user {
        uid = u32::try_from(u)?;
        gid = lookup_user(&uid.to_string())
            .map(|(_, g)| g)
            .unwrap_or(if image_user.is_some() { gid } else { 0 });
    }
    if let Some(g) = run_as_group {
        gid = u32::try_from(g)?;
    }
    Ok((uid, gid))
}

/// Bytes of a Kubernetes quantity (`128Mi`, `1G`, `1e9`, `512`); None if malformed.
pub fn parse_bytes(q: &str) -> Option<i64> {
    ordo_api::quantity::value(q).map(|v| v.ceil() as i64)
}

/// Millicores of a CPU quantity (`500m`, `1`, `0.25`); None if malformed.
pub fn parse_millicpu(q: &str) -> Option<i64> {
    ordo_api::quantity::milli(q)
}

#[cfg(test)]
#[path = "bundle_tests.rs"]
mod tests;
