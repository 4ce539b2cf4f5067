//! A container's CPU request and limit as the kubelet turns them into cgroup settings
//! (`pkg/kubelet/cm/helpers_linux.go`, `kuberuntime_container_linux.go`): the request becomes
//! CPU shares (runc writes them as `cpu.shares` on cgroup v1 and converts them to `cpu.weight`
//! on cgroup v2), the limit a CFS quota over a 100 ms period (`cpu.cfs_quota_us` and
//! `cpu.cfs_period_us`, or `cpu.max`).

use oci_spec::runtime::{LinuxCpu, LinuxCpuBuilder};
use oci_spec::OciSpecError;

/// The CFS period the kubelet uses (`quotaPeriod`, 100 ms in microseconds).
pub const QUOTA_PERIOD: u64 = 100_000;
/// The smallest quota the kernel accepts (`minQuotaPeriod`, 1 ms).
const MIN_QUOTA: i64 = 1_000;
/// The shares of a container without a CPU request (`MinShares`).
const MIN_SHARES: u64 = 2;
/// The most shares the kernel accepts (`MaxShares`).
const MAX_SHARES: u64 = 262_144;

/// `MilliCPUToShares`: 1024 shares per CPU, at least 2, at most 262144.
pub fn milli_cpu_to_shares(milli: i64) -> u64 {
    if milli <= 0 {
        return MIN_SHARES;
    }
    ((milli as u64 * 1024) / 1000).clamp(MIN_SHARES, MAX_SHARES)
}

/// `milliCPUToQuota`: the quota of `milli` millicores over `period` µs; 0 (none) without a
/// limit, else at least 1 ms.
pub fn milli_cpu_to_quota(milli: i64, period: u64) -> i64 {
    if milli <= 0 {
        return 0;
    }
    (milli * period as i64 / 1000).max(MIN_QUOTA)
}

/// The cgroup CPU settings of a container with these requested and limited millicores: shares
/// always (from the request, or the limit when only that is set, as the kubelet repeats the API
/// server's defaulting), a quota only with a limit.
pub fn linux_cpu(request: Option<i64>, limit: Option<i64>) -> Result<LinuxCpu, OciSpecError> {
    let request = request.filter(|m| *m > 0).or(limit).unwrap_or(0);
    let mut cpu = LinuxCpuBuilder::default().shares(milli_cpu_to_shares(request));
    if let Some(quota) = limit
        .map(|m| milli_cpu_to_quota(m, QUOTA_PERIOD))
        .filter(|q| *q > 0)
    {
        cpu = cpu.quota(quota).period(QUOTA_PERIOD);
    }
    cpu.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_quotas_as_the_kubelet_computes_them() {
        assert_eq!(milli_cpu_to_shares(0), 2);
        assert_eq!(milli_cpu_to_shares(1), 2);
        assert_eq!(milli_cpu_to_shares(250), 256);
        assert_eq!(milli_cpu_to_shares(1000), 1024);
        assert_eq!(milli_cpu_to_shares(1_000_000), 262_144);
        assert_eq!(milli_cpu_to_quota(0, QUOTA_PERIOD), 0);
        assert_eq!(milli_cpu_to_quota(1, QUOTA_PERIOD), 1_000);
        assert_eq!(milli_cpu_to_quota(500, QUOTA_PERIOD), 50_000);
        assert_eq!(milli_cpu_to_quota(2500, QUOTA_PERIOD), 250_000);
    }

    #[test]
    fn a_container_without_cpu_gets_minimum_shares_and_no_quota() {
        let none = linux_cpu(None, None).unwrap();
        assert_eq!(none.shares(), Some(2));
        assert_eq!(none.quota(), None);
        let only_limit = linux_cpu(None, Some(300)).unwrap();
        assert_eq!(only_limit.shares(), Some(307));
        assert_eq!(only_limit.quota(), Some(30_000));
        assert_eq!(only_limit.period(), Some(QUOTA_PERIOD));
        let only_request = linux_cpu(Some(100), None).unwrap();
        assert_eq!(only_request.shares(), Some(102));
        assert_eq!(only_request.quota(), None);
    }
}
