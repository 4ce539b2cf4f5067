//! One scrape of a node agent's `/metrics/resource` (Prometheus text) and the usage rates of
//! two consecutive scrapes, as metrics-server computes them. No I/O.

use std::collections::HashMap;

/// A cumulative CPU figure, a working set and when they were measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Point {
    /// Cumulative CPU time in core-seconds.
    pub cpu_seconds: f64,
    /// Memory working set in bytes.
    pub memory: u64,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// When the container started (seconds since the epoch; 0 for the node).
    pub start_time: f64,
}

/// A container's key: namespace, pod, container.
pub(crate) type ContainerKey = (String, String, String);

/// What one scrape of a node returned.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Scrape {
    /// The node's own usage.
    pub node: Option<Point>,
    /// Each container's usage.
    pub containers: HashMap<ContainerKey, Point>,
}

/// Usage over a window: CPU in nanocores, memory in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Average CPU over the window, in billionths of a core.
    pub nanocores: u64,
    /// Working set at the end of the window, in bytes.
    pub memory: u64,
    /// End of the window, in milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// Length of the window, in milliseconds.
    pub window_ms: i64,
}

/// The labels of a sample line: `name{a="b",c="d"} value ts`.
fn labels(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = s;
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].trim_start_matches(',').trim().to_string();
        let mut val = String::new();
        let mut chars = rest[eq + 2..].char_indices();
        let mut end = rest.len() - eq - 2;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        val.push(if n == 'n' { '\n' } else { n });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => val.push(c),
            }
        }
        out.insert(key, val);
        rest = &rest[eq + 2 + end..];
    }
    out
}

/// Parses a `/metrics/resource` document; lines it does not know are skipped.
pub(crate) fn parse(text: &str) -> Scrape {
    let mut s = Scrape::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, labels_text, rest) = match line.find('{') {
            Some(open) => {
                let Some(close) = line.rfind('}') else {
                    continue;
                };
                (&line[..open], &line[open + 1..close], &line[close + 1..])
            }
            None => match line.split_once(' ') {
                Some((n, r)) => (n, "", r),
                None => continue,
            },
        };
        let mut fields = rest.split_whitespace();
        let Some(value) = fields.next().and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let ts: i64 = fields.next().and_then(|t| t.parse().ok()).unwrap_or(0);
        let point = |p: &mut Point| p.timestamp_ms = p.timestamp_ms.max(ts);
        match name {
            "node_cpu_usage_seconds_total" | "node_memory_working_set_bytes" => {
                let p = s.node.get_or_insert_with(Point::default);
                point(p);
                if name == "node_cpu_usage_seconds_total" {
                    p.cpu_seconds = value;
                } else {
                    p.memory = value as u64;
                }
            }
            "container_cpu_usage_seconds_total"
            | "container_memory_working_set_bytes"
            | "container_start_time_seconds" => {
                let l = labels(labels_text);
                let get = |k: &str| l.get(k).cloned().unwrap_or_default();
                let key = (get("namespace"), get("pod"), get("container"));
                let p = s.containers.entry(key).or_default();
                match name {
                    "container_cpu_usage_seconds_total" => {
                        point(p);
                        p.cpu_seconds = value
                    }
                    "container_memory_working_set_bytes" => {
                        point(p);
                        p.memory = value as u64
                    }
                    _ => p.start_time = value,
                }
            }
            _ => {}
        }
    }
    s
}

/// The usage between two points of the same container (or node), None when they cannot give
/// a rate: the container restarted in between, its counter went back, or no time passed.
pub(crate) fn rate(prev: &Point, cur: &Point) -> Option<Usage> {
    let window_ms = cur.timestamp_ms - prev.timestamp_ms;
    if window_ms <= 0 || cur.cpu_seconds < prev.cpu_seconds || cur.start_time != prev.start_time {
        return None;
    }
    let per_second = (cur.cpu_seconds - prev.cpu_seconds) / (window_ms as f64 / 1000.0);
    Some(Usage {
        nanocores: (per_second * 1e9).round() as u64,
        memory: cur.memory,
        timestamp_ms: cur.timestamp_ms,
        window_ms,
    })
}

/// A CPU figure as metrics-server prints it: a quantity of nanocores in its canonical form
/// (`250m`, `2`, `123456n`).
pub(crate) fn cpu_quantity(nanocores: u64) -> String {
    if nanocores.is_multiple_of(1_000_000_000) {
        format!("{}", nanocores / 1_000_000_000)
    } else if nanocores.is_multiple_of(1_000_000) {
        format!("{}m", nanocores / 1_000_000)
    } else if nanocores.is_multiple_of(1_000) {
        format!("{}u", nanocores / 1_000)
    } else {
        format!("{nanocores}n")
    }
}

/// A memory figure as metrics-server prints it (binary SI: `64Mi`, `12345Ki`, `1000`).
pub(crate) fn memory_quantity(bytes: u64) -> String {
    ordo_api::quantity::format_whole(bytes as i64, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="web",namespace="default",pod="p-1"} 2.5 1000
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="web",namespace="default",pod="p-1"} 67108864 1000
container_start_time_seconds{container="web",namespace="default",pod="p-1"} 1.7e+09 1000
node_cpu_usage_seconds_total 100 1000
node_memory_working_set_bytes 1048576 1000
resource_scrape_error 0
"#;

    #[test]
    fn parses_the_kubelet_format() {
        let s = parse(DOC);
        let key = ("default".to_string(), "p-1".to_string(), "web".to_string());
        let c = s.containers[&key];
        assert_eq!(c.cpu_seconds, 2.5);
        assert_eq!(c.memory, 64 << 20);
        assert_eq!(c.timestamp_ms, 1000);
        assert_eq!(c.start_time, 1.7e9);
        let n = s.node.unwrap();
        assert_eq!((n.cpu_seconds, n.memory), (100.0, 1 << 20));
        let esc = parse("container_cpu_usage_seconds_total{container=\"a\\\"b\",namespace=\"n\",pod=\"p\"} 1 5\n");
        assert!(esc
            .containers
            .contains_key(&("n".into(), "p".into(), "a\"b".into())));
    }

    #[test]
    fn rates_from_two_samples() {
        let a = Point {
            cpu_seconds: 10.0,
            memory: 5,
            timestamp_ms: 1_000,
            start_time: 1.0,
        };
        let b = Point {
            cpu_seconds: 13.75,
            memory: 7,
            timestamp_ms: 16_000,
            start_time: 1.0,
        };
        let u = rate(&a, &b).unwrap();
        assert_eq!(u.nanocores, 250_000_000);
        assert_eq!((u.memory, u.timestamp_ms, u.window_ms), (7, 16_000, 15_000));
        // A restart, a counter going back, or no time passing give no rate.
        assert_eq!(
            rate(
                &a,
                &Point {
                    start_time: 2.0,
                    ..b
                }
            ),
            None
        );
        assert_eq!(
            rate(
                &b,
                &Point {
                    timestamp_ms: 20_000,
                    ..a
                }
            ),
            None
        );
        assert_eq!(rate(&a, &a), None);
    }

    #[test]
    fn quantities_as_metrics_server_prints_them() {
        assert_eq!(cpu_quantity(250_000_000), "250m");
        assert_eq!(cpu_quantity(2_000_000_000), "2");
        assert_eq!(cpu_quantity(0), "0");
        assert_eq!(cpu_quantity(123_456), "123456n");
        assert_eq!(memory_quantity(64 << 20), "64Mi");
        // Below 1024 a binary quantity prints in the decimal format, as Go's does.
        assert_eq!(memory_quantity(1000), "1k");
        assert_eq!(memory_quantity(1001), "1001");
    }
}
