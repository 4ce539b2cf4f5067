//! Driving kubectl on a terminal (`script` gives it a pseudoterminal) and with piped stdin,
//! for the attach and debug end-to-end tests.

use super::Server;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// A `kubectl` command line for this server, quoted for `sh -c`.
pub fn kubectl_line(s: &Server, cache: &std::path::Path, args: &[&str]) -> String {
    let mut line = format!(
        "{} --kubeconfig '{}' --cache-dir '{}'",
        s.kubectl_bin,
        s.kubeconfig.display(),
        cache.display()
    );
    for a in args {
        line.push_str(&format!(" '{}'", a.replace('\'', r"'\''")));
    }
    line
}

/// Runs `cmd` with `input` on its stdin (then closed).
pub fn with_input(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// Runs the shell command `line` on a pseudoterminal made by `script`, typing `input`
/// into it. `script -e` exits with the command's exit code.
pub fn on_terminal(line: &str, input: &str) -> Output {
    with_input(
        Command::new("script").args(["-qec", line, "/dev/null"]),
        input,
    )
}

/// kubectl's exit code and output, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "rc={:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Whether `script` (util-linux) is installed.
pub fn have_script() -> bool {
    Command::new("script")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}
