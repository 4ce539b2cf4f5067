use super::*;

const GB: u64 = 1 << 30;

fn policy() -> GcPolicy {
    GcPolicy::default()
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn record(digest: &str, first: u64, used: u64) -> ImageRecord {
    ImageRecord {
        digest: digest.into(),
        first_detected: at(first),
        last_used: at(used),
    }
}

#[test]
fn frees_down_to_the_low_threshold_once_over_the_high_one() {
    // 84% used: below 85%, nothing to do.
    assert_eq!(to_free(100 * GB, 16 * GB, &policy()), None);
    // 85% used: free down to 80%, 5 GB.
    assert_eq!(to_free(100 * GB, 15 * GB, &policy()), Some(5 * GB));
    assert_eq!(to_free(100 * GB, 2 * GB, &policy()), Some(18 * GB));
    // 100 turns it off; an empty filesystem has nothing to say.
    let off = GcPolicy {
        high_threshold: 100,
        ..policy()
    };
    assert_eq!(to_free(100 * GB, 0, &off), None);
    assert_eq!(to_free(0, 0, &policy()), None);
}

#[test]
fn least_recently_used_unused_old_enough_images_first() {
    let records = [
        record("in-use", 0, 1000),
        record("recent", 0, 900),
        record("stale", 0, 100),
        record("new", 990, 990),
        record("never-used", 50, 50),
    ];
    let in_use: HashSet<String> = ["in-use".to_string()].into();
    let now = at(1000);
    let order: Vec<&str> = candidates(&records, &in_use, &policy(), now)
        .iter()
        .map(|r| r.digest.as_str())
        .collect();
    // "new" was first seen 10 s ago, under the 2 minute minimum age.
    assert_eq!(order, ["never-used", "stale", "recent"]);
    let all = candidates(&records, &in_use, &policy(), now);
    assert!(too_old(&all, &policy(), now).is_empty());
    let max_age = GcPolicy {
        max_age: Some(Duration::from_secs(500)),
        ..policy()
    };
    let old: Vec<&str> = too_old(&all, &max_age, now)
        .iter()
        .map(|r| r.digest.as_str())
        .collect();
    assert_eq!(old, ["never-used", "stale"]);
}

#[test]
fn thresholds_are_validated_as_the_kubelet_does() {
    assert_eq!(policy().validate(), Ok(()));
    let bad = GcPolicy {
        high_threshold: 80,
        low_threshold: 80,
        ..policy()
    };
    assert_eq!(
        bad.validate().unwrap_err(),
        "imageGCLowThresholdPercent (--image-gc-low-threshold) 80 must be less than imageGCHighThresholdPercent (--image-gc-high-threshold) 80"
    );
    let over = GcPolicy {
        high_threshold: 101,
        ..policy()
    };
    assert!(over
        .validate()
        .unwrap_err()
        .contains("must be between 0 and 100"));
}
