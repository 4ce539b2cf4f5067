//! The decisions of leader election as pure functions of a Lease's spec, what this elector saw
//! of it and when, and the clock: client-go's `tryAcquireOrRenew` without the I/O.

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use std::time::{Duration, Instant};

/// The record of a Lease as this elector last saw it change, and when (on its own monotonic
/// clock: expiry is judged from when a change was *seen*, never from the holder's `renewTime`,
/// so that clocks of different machines need not agree).
#[derive(Clone, Debug)]
pub(crate) struct Observed {
    /// The Lease's spec.
    pub(crate) spec: LeaseSpec,
    /// When this elector first saw `spec`.
    pub(crate) at: Instant,
}

impl Observed {
    /// The holder, or `""` for none.
    pub(crate) fn holder(&self) -> &str {
        self.spec.holder_identity.as_deref().unwrap_or_default()
    }

    /// Whether the holder's claim still stands at `now`: it was seen renewed less than its
    /// duration ago.
    pub(crate) fn valid(&self, now: Instant) -> bool {
        let secs = self.spec.lease_duration_seconds.unwrap_or(0).max(0) as u64;
        self.at + Duration::from_secs(secs) > now
    }
}

/// `observed` updated with the spec just read: the time stays when the spec did not change.
pub(crate) fn observe(observed: Option<Observed>, spec: &LeaseSpec, now: Instant) -> Observed {
    match observed {
        Some(o) if &o.spec == spec => o,
        _ => Observed {
            spec: spec.clone(),
            at: now,
        },
    }
}

/// The spec `identity` writes to hold the lease, or `None` while another holder's claim
/// stands. Renewing keeps `acquireTime` and `leaseTransitions`; taking over (a released lease
/// too, as in client-go) sets `acquireTime` and counts a transition.
pub(crate) fn claim(
    observed: &Observed,
    identity: &str,
    lease_duration: Duration,
    now: Instant,
    wall: Timestamp,
) -> Option<LeaseSpec> {
    let holder = observed.holder();
    if !holder.is_empty() && holder != identity && observed.valid(now) {
        return None;
    }
    let old = &observed.spec;
    let renewing = holder == identity;
    Some(LeaseSpec {
        holder_identity: Some(identity.to_string()),
        lease_duration_seconds: Some(lease_duration.as_secs() as i32),
        acquire_time: if renewing {
            old.acquire_time.clone()
        } else {
            Some(MicroTime(wall))
        },
        renew_time: Some(MicroTime(wall)),
        lease_transitions: Some(old.lease_transitions.unwrap_or(0) + if renewing { 0 } else { 1 }),
        ..Default::default()
    })
}

/// The spec of a new Lease held by `identity`.
pub(crate) fn first(identity: &str, lease_duration: Duration, wall: Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(identity.to_string()),
        lease_duration_seconds: Some(lease_duration.as_secs() as i32),
        acquire_time: Some(MicroTime(wall)),
        renew_time: Some(MicroTime(wall)),
        lease_transitions: Some(0),
        ..Default::default()
    }
}

/// The spec a holder writes when it gives the lease up (at shutdown): no holder and a
/// duration of one second, so that the next elector takes it at once, as client-go's
/// `ReleaseOnCancel` does.
pub(crate) fn released(old: &LeaseSpec, wall: Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: None,
        lease_duration_seconds: Some(1),
        acquire_time: Some(MicroTime(wall)),
        renew_time: Some(MicroTime(wall)),
        lease_transitions: old.lease_transitions,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Duration = Duration::from_secs(15);

    fn held_by(who: &str, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(who.into()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(Timestamp::UNIX_EPOCH)),
            renew_time: Some(MicroTime(Timestamp::UNIX_EPOCH)),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    #[test]
    fn another_holders_claim_stands_for_the_lease_duration_after_it_was_seen() {
        let t0 = Instant::now();
        let seen = observe(None, &held_by("a", 0), t0);
        assert!(claim(
            &seen,
            "b",
            D,
            t0 + Duration::from_secs(14),
            Timestamp::now()
        )
        .is_none());
        // Reading the same record again does not move the observation time.
        let again = observe(Some(seen), &held_by("a", 0), t0 + Duration::from_secs(10));
        assert_eq!(again.at, t0);
        let took = claim(
            &again,
            "b",
            D,
            t0 + Duration::from_secs(15),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(took.holder_identity.as_deref(), Some("b"));
        assert_eq!(took.lease_transitions, Some(1));
        assert_eq!(took.acquire_time, took.renew_time);
    }

    #[test]
    fn a_renewed_record_restarts_the_wait() {
        let t0 = Instant::now();
        let seen = observe(None, &held_by("a", 0), t0);
        let mut renewed = held_by("a", 0);
        renewed.renew_time = Some(MicroTime(Timestamp::now()));
        let t1 = t0 + Duration::from_secs(12);
        let seen = observe(Some(seen), &renewed, t1);
        assert_eq!(seen.at, t1);
        assert!(claim(
            &seen,
            "b",
            D,
            t0 + Duration::from_secs(20),
            Timestamp::now()
        )
        .is_none());
        assert!(claim(&seen, "b", D, t1 + D, Timestamp::now()).is_some());
    }

    #[test]
    fn renewing_keeps_acquire_time_and_transitions() {
        let t0 = Instant::now();
        let seen = observe(None, &held_by("a", 3), t0);
        let wall = Timestamp::now();
        let r = claim(&seen, "a", D, t0 + Duration::from_secs(2), wall).unwrap();
        assert_eq!(r.acquire_time, Some(MicroTime(Timestamp::UNIX_EPOCH)));
        assert_eq!(r.renew_time, Some(MicroTime(wall)));
        assert_eq!(r.lease_transitions, Some(3));
    }

    #[test]
    fn a_released_lease_is_taken_at_once() {
        let t0 = Instant::now();
        let gone = released(&held_by("a", 2), Timestamp::now());
        let seen = observe(None, &gone, t0);
        let r = claim(&seen, "b", D, t0, Timestamp::now()).unwrap();
        assert_eq!(r.holder_identity.as_deref(), Some("b"));
        assert_eq!(r.lease_transitions, Some(3));
        assert_eq!(r.lease_duration_seconds, Some(15));
    }
}
