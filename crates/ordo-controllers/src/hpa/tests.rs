//! Unit tests of the HPA's decisions (no I/O).

use super::logic::*;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000)
}

/// A pod started and ready long ago, requesting `request` millicores.
fn pod(name: &str, request: i64) -> PodInfo {
    PodInfo {
        name: name.into(),
        ignored: false,
        pending: false,
        ready: Some((true, t0() - Duration::from_secs(3600))),
        start_time: Some(t0() - Duration::from_secs(3600)),
        request: Ok(request),
    }
}

fn metrics(values: &[(&str, i64)]) -> BTreeMap<String, PodMetric> {
    values
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                PodMetric {
                    value: *v,
                    timestamp: t0() - Duration::from_secs(1),
                    window: Duration::from_secs(15),
                },
            )
        })
        .collect()
}

#[test]
fn scales_up_by_the_usage_ratio() {
    // 2 pods using 200m of 100m each against a 50 % target: 200 % / 50 % = 4 × 2 = 8.
    let pods = [pod("a", 100), pod("b", 100)];
    let m = metrics(&[("a", 200), ("b", 200)]);
    let p = resource_replicas(2, Target::Utilization(50), true, &pods, &m, t0()).unwrap();
    assert_eq!(p.replicas, 8);
    assert_eq!(p.utilization, Some(200));
    assert_eq!(p.raw_average, 200);
}

#[test]
fn within_tolerance_keeps_the_current_count() {
    let pods = [pod("a", 100), pod("b", 100), pod("c", 100)];
    let m = metrics(&[("a", 52), ("b", 55), ("c", 54)]);
    let p = resource_replicas(3, Target::Utilization(50), true, &pods, &m, t0()).unwrap();
    assert_eq!(p.replicas, 3);
    assert_eq!(p.utilization, Some(53));
}

#[test]
fn scales_down_and_counts_missing_pods_at_their_request() {
    // a and b use 10 %; c has no metric: counted at 100 % of its request when scaling down.
    let pods = [pod("a", 100), pod("b", 100), pod("c", 100)];
    let m = metrics(&[("a", 10), ("b", 10)]);
    let p = resource_replicas(3, Target::Utilization(50), true, &pods, &m, t0()).unwrap();
    // (10 + 10 + 100) / 300 = 40 % → ratio 0.8 → ceil(0.8 × 3) = 3: no change once the
    // missing pod is counted in.
    assert_eq!(p.replicas, 3);
    let m = metrics(&[("a", 0), ("b", 0)]);
    let p = resource_replicas(3, Target::Utilization(50), true, &pods, &m, t0()).unwrap();
    // (0 + 0 + 100) / 300 = 33 % → 0.66 × 3 = 2.
    assert_eq!(p.replicas, 2);
}

#[test]
fn unready_pods_count_as_idle_when_scaling_up() {
    let mut fresh = pod("c", 100);
    // Started a minute ago and not ready: its sample is not trusted.
    fresh.start_time = Some(t0() - Duration::from_secs(60));
    fresh.ready = Some((false, t0() - Duration::from_secs(60)));
    let pods = [pod("a", 100), pod("b", 100), fresh];
    let m = metrics(&[("a", 150), ("b", 150), ("c", 500)]);
    let p = resource_replicas(3, Target::Utilization(50), true, &pods, &m, t0()).unwrap();
    // Ready pods: 300 % ratio on 2 pods; with c at 0: (150+150+0)/300 = 100 % → ratio 2 → 6.
    assert_eq!(p.replicas, 6);
    assert_eq!(p.utilization, Some(150));
}

#[test]
fn errors_upstream_reports() {
    let m = metrics(&[("a", 10)]);
    assert_eq!(
        resource_replicas(1, Target::Utilization(50), true, &[], &m, t0()).unwrap_err(),
        "no pods returned by selector while calculating replica count"
    );
    let mut p = pod("a", 0);
    p.request = Err("missing request for cpu in container web of Pod a".into());
    assert_eq!(
        resource_replicas(1, Target::Utilization(50), true, &[p], &m, t0()).unwrap_err(),
        "missing request for cpu in container web of Pod a"
    );
    assert_eq!(
        resource_replicas(
            1,
            Target::Utilization(50),
            true,
            &[pod("a", 1)],
            &BTreeMap::new(),
            t0()
        )
        .unwrap_err(),
        "no metrics returned from resource metrics API"
    );
}

#[test]
fn average_value_targets() {
    let pods = [pod("a", 100), pod("b", 100)];
    let m = metrics(&[("a", 300), ("b", 300)]);
    let p = resource_replicas(2, Target::AverageValue(100), false, &pods, &m, t0()).unwrap();
    assert_eq!(p.replicas, 6);
    assert_eq!(p.utilization, None);
}

fn default_up() -> Rules {
    default_scale_up()
}

fn down(window: i32) -> Rules {
    Rules {
        window_seconds: window,
        ..default_scale_down()
    }
}

#[test]
fn scale_down_waits_for_the_stabilization_window() {
    let mut h = History::default();
    let now = t0();
    // A high recommendation, then low ones: the window keeps the high one.
    let n = normalize_with_behavior(&mut h, &default_up(), &down(60), 1, 10, 5, 5, now);
    assert_eq!(n.replicas, 5);
    let n = normalize_with_behavior(
        &mut h,
        &default_up(),
        &down(60),
        1,
        10,
        5,
        1,
        now + Duration::from_secs(30),
    );
    assert_eq!(n.replicas, 5);
    assert_eq!(n.conditions[0].2, "ScaleDownStabilized");
    // After the window only the low recommendations remain.
    let n = normalize_with_behavior(
        &mut h,
        &default_up(),
        &down(60),
        1,
        10,
        5,
        1,
        now + Duration::from_secs(61),
    );
    assert_eq!(n.replicas, 1);
    assert_eq!(n.conditions[0].2, "ReadyForNewScale");
    assert_eq!(
        n.conditions[1],
        (
            "ScalingLimited",
            false,
            "DesiredWithinRange",
            "the desired count is within the acceptable range".to_string()
        )
    );
}

#[test]
fn scale_up_rate_and_max_limits() {
    let mut h = History::default();
    // From 1, Pods 4 / Percent 100 with Max: at most 5.
    let n = normalize_with_behavior(&mut h, &default_up(), &down(0), 1, 20, 1, 12, t0());
    assert_eq!(n.replicas, 5);
    assert_eq!(n.conditions[1].2, "ScaleUpLimit");
    assert!(n.conditions[1].1);
    record_scale(&mut h, &default_up(), &down(0), 1, 5, t0());
    // Within the period the change already made counts: start 1 → still at most 5.
    let n = normalize_with_behavior(
        &mut h,
        &default_up(),
        &down(0),
        1,
        20,
        5,
        12,
        t0() + Duration::from_secs(5),
    );
    assert_eq!(n.replicas, 5);
    // maxReplicas below the rate limit.
    let mut h = History::default();
    let n = normalize_with_behavior(&mut h, &default_up(), &down(0), 1, 3, 2, 12, t0());
    assert_eq!((n.replicas, n.conditions[1].2), (3, "TooManyReplicas"));
    // A disabled direction does not move.
    let mut h = History::default();
    let mut off = down(0);
    off.select = Select::Disabled;
    let n = normalize_with_behavior(&mut h, &default_up(), &off, 1, 10, 6, 2, t0());
    assert_eq!(n.replicas, 6);
}

#[test]
fn without_behavior_doubles_at_most_and_keeps_min() {
    let mut h = History::default();
    let n = normalize(&mut h, 2, 100, 3, 50, t0());
    assert_eq!((n.replicas, n.conditions[1].2), (6, "ScaleUpLimit"));
    let mut h = History::default();
    let n = normalize(&mut h, 2, 100, 3, 1, t0());
    assert_eq!((n.replicas, n.conditions[1].2), (2, "TooFewReplicas"));
}
