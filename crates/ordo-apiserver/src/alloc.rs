//! Service ClusterIP and NodePort allocation. Each allocated address or port is a key of its
//! own in the store, created atomically (as upstream's IPAddress objects), so two API servers
//! sharing one etcd never hand out the same address.

use ordo_api::status::ApiError;
use ordo_store::{Store, StoreError};
use std::net::Ipv4Addr;

/// An IPv4 range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cidr {
    pub(crate) base: u32,
    pub(crate) bits: u8,
}

impl Cidr {
    pub(crate) fn parse(s: &str) -> anyhow::Result<Cidr> {
        let (ip, bits) = s
            .split_once('/')
            .ok_or_else(|| anyhow::anyhow!("{s}: expected ADDRESS/BITS"))?;
        let ip: Ipv4Addr = ip.parse()?;
        let bits: u8 = bits.parse()?;
        anyhow::ensure!(
            (8..=30).contains(&bits),
            "{s}: prefix length must be between 8 and 30"
        );
        let mask = u32::MAX << (32 - bits);
        Ok(Cidr {
            base: u32::from(ip) & mask,
            bits,
        })
    }
    /// The n-th address of the range.
    pub(crate) fn nth(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.base + n)
    }
    /// Number of usable addresses (network and broadcast excluded).
    pub(crate) fn size(&self) -> u32 {
        (1u32 << (32 - self.bits)) - 2
    }
    pub(crate) fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::MAX << (32 - self.bits);
        u32::from(ip) & mask == self.base
    }
}

const IP_PREFIX: &str = "/registry/ipallocations/";
const PORT_PREFIX: &str = "/registry/nodeportallocations/";
/// NodePort range, as upstream's default.
pub(crate) const NODE_PORTS: std::ops::RangeInclusive<u32> = 30000..=32767;

fn store_err(e: StoreError) -> ApiError {
    ApiError::internal(e.to_string())
}

/// Claims `ip` for `owner` (`ns/name`); false if it is taken.
pub(crate) async fn claim_ip(
    store: &dyn Store,
    ip: Ipv4Addr,
    owner: &str,
) -> Result<bool, ApiError> {
    match store
        .create(&format!("{IP_PREFIX}{ip}"), owner.as_bytes().to_vec())
        .await
    {
        Ok(_) => Ok(true),
        Err(StoreError::AlreadyExists(_)) => Ok(false),
        Err(e) => Err(store_err(e)),
    }
}

/// Allocates a free address of `cidr` for `owner`. The first address is reserved for the
/// `kubernetes` Service, as upstream does.
pub(crate) async fn allocate_ip(
    store: &dyn Store,
    cidr: &Cidr,
    owner: &str,
) -> Result<Ipv4Addr, ApiError> {
    use rand::Rng;
    let size = cidr.size();
    let start = rand::rng().random_range(2..=size);
    for i in 0..size {
        let n = 2 + (start - 2 + i) % (size - 1);
        let ip = cidr.nth(n);
        if claim_ip(store, ip, owner).await? {
            return Ok(ip);
        }
    }
    Err(ApiError::internal(
        "failed to allocate a serviceIP: range is full",
    ))
}

/// Releases an address.
pub(crate) async fn release_ip(store: &dyn Store, ip: &str) {
    let _ = store.delete(&format!("{IP_PREFIX}{ip}"), None).await;
}

/// Claims a node port; false if it is taken.
pub(crate) async fn claim_port(
    store: &dyn Store,
    port: u32,
    owner: &str,
) -> Result<bool, ApiError> {
    match store
        .create(&format!("{PORT_PREFIX}{port}"), owner.as_bytes().to_vec())
        .await
    {
        Ok(_) => Ok(true),
        Err(StoreError::AlreadyExists(_)) => Ok(false),
        Err(e) => Err(store_err(e)),
    }
}

/// Allocates a free node port.
pub(crate) async fn allocate_port(store: &dyn Store, owner: &str) -> Result<u32, ApiError> {
    use rand::Rng;
    let n = NODE_PORTS.end() - NODE_PORTS.start() + 1;
    let start = rand::rng().random_range(0..n);
    for i in 0..n {
        let port = NODE_PORTS.start() + (start + i) % n;
        if claim_port(store, port, owner).await? {
            return Ok(port);
        }
    }
    Err(ApiError::internal(
        "failed to allocate a nodePort: range is full",
    ))
}

/// Releases a node port.
pub(crate) async fn release_port(store: &dyn Store, port: u64) {
    let _ = store.delete(&format!("{PORT_PREFIX}{port}"), None).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_math() {
        let c = Cidr::parse("10.96.0.0/12").unwrap();
        assert_eq!(c.nth(1).to_string(), "10.96.0.1");
        assert!(c.contains("10.100.1.2".parse().unwrap()));
        assert!(!c.contains("10.112.0.1".parse().unwrap()));
        assert_eq!(c.size(), (1 << 20) - 2);
    }
}
