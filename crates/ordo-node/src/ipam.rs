//! Pod IP addresses from the node's pod CIDR (host-local IPAM): one address per pod, stable
//! for the pod's life, handed out round-robin so a released address is not reused at once.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

/// Allocates the addresses of one IPv4 CIDR to owners (pod UIDs).
#[derive(Debug)]
pub struct Ipam {
    base: u32,
    size: u32,
    cursor: u32,
    owners: HashMap<String, u32>,
    taken: HashSet<u32>,
}

impl Ipam {
    /// A pool for `cidr` (`10.244.0.0/24`). The network address, the gateway (`.1`), the
    /// broadcast address and addresses ending in `.0` or `.255` are never handed out.
    pub fn new(cidr: &str) -> anyhow::Result<Ipam> {
        let (addr, len) = cidr
            .split_once('/')
            .ok_or_else(|| anyhow::anyhow!("pod CIDR {cidr:?} has no prefix length"))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| anyhow::anyhow!("pod CIDR {cidr:?}: bad address"))?;
        let len: u32 = len
            .parse()
            .map_err(|_| anyhow::anyhow!("pod CIDR {cidr:?}: bad prefix length"))?;
        anyhow::ensure!(
            (8..=30).contains(&len),
            "pod CIDR {cidr:?}: prefix length must be between 8 and 30"
        );
        let size = 1u32 << (32 - len);
        let base = u32::from(addr) & !(size - 1);
        Ok(Ipam {
            base,
            size,
            cursor: 2,
            owners: HashMap::new(),
            taken: HashSet::new(),
        })
    }

    /// The gateway address (the first host address), which is also the bridge's.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base + 1)
    }

    fn usable(&self, off: u32) -> bool {
        let last_octet = (self.base + off) & 0xff;
        off >= 2 && off < self.size - 1 && last_octet != 0 && last_octet != 255
    }

    /// The address of `owner`, allocating one if it has none. `None` when the pool is full.
    pub fn allocate(&mut self, owner: &str) -> Option<Ipv4Addr> {
        if let Some(off) = self.owners.get(owner) {
            return Some(Ipv4Addr::from(self.base + off));
        }
        for _ in 0..self.size {
            let off = self.cursor;
            self.cursor = if self.cursor + 1 >= self.size {
                2
            } else {
                self.cursor + 1
            };
            if self.usable(off) && !self.taken.contains(&off) {
                self.taken.insert(off);
                self.owners.insert(owner.to_string(), off);
                return Some(Ipv4Addr::from(self.base + off));
            }
        }
        None
    }

    /// Claims a known address for `owner` (adoption after a restart). False if the address
    /// is outside the pool or held by another owner.
    pub fn reserve(&mut self, owner: &str, ip: Ipv4Addr) -> bool {
        let ip = u32::from(ip);
        if ip < self.base || ip - self.base >= self.size || !self.usable(ip - self.base) {
            return false;
        }
        let off = ip - self.base;
        match self.owners.get(owner) {
            Some(o) if *o == off => return true,
            Some(_) => return false,
            None => {}
        }
        if !self.taken.insert(off) {
            return false;
        }
        self.owners.insert(owner.to_string(), off);
        // Continue after the highest adopted address, like a pool that was never restarted.
        if off >= self.cursor {
            self.cursor = if off + 1 >= self.size { 2 } else { off + 1 };
        }
        true
    }

    /// Frees the address of `owner`.
    pub fn release(&mut self, owner: &str) -> Option<Ipv4Addr> {
        let off = self.owners.remove(owner)?;
        self.taken.remove(&off);
        Some(Ipv4Addr::from(self.base + off))
    }

    /// The address of `owner`, if it has one.
    pub fn get(&self, owner: &str) -> Option<Ipv4Addr> {
        self.owners
            .get(owner)
            .map(|off| Ipv4Addr::from(self.base + off))
    }

    /// How many addresses are in use.
    pub fn in_use(&self) -> usize {
        self.owners.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_from_two_and_is_idempotent() {
        let mut ipam = Ipam::new("10.244.0.0/24").unwrap();
        assert_eq!(ipam.gateway(), Ipv4Addr::new(10, 244, 0, 1));
        let a = ipam.allocate("a").unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 244, 0, 2));
        assert_eq!(ipam.allocate("a"), Some(a));
        assert_eq!(ipam.allocate("b"), Some(Ipv4Addr::new(10, 244, 0, 3)));
        assert_eq!(ipam.in_use(), 2);
    }

    #[test]
    fn released_addresses_are_not_reused_at_once() {
        let mut ipam = Ipam::new("10.244.0.0/24").unwrap();
        let a = ipam.allocate("a").unwrap();
        assert_eq!(ipam.release("a"), Some(a));
        assert_eq!(ipam.release("a"), None);
        assert_ne!(ipam.allocate("b"), Some(a));
    }

    #[test]
    fn full_pool_and_wraparound() {
        let mut ipam = Ipam::new("10.0.0.0/29").unwrap();
        // .2 .. .6 (.7 is broadcast)
        let got: Vec<_> = (0..5)
            .map(|i| ipam.allocate(&i.to_string()).unwrap())
            .collect();
        assert_eq!(got.last(), Some(&Ipv4Addr::new(10, 0, 0, 6)));
        assert_eq!(ipam.allocate("x"), None);
        ipam.release("0");
        assert_eq!(ipam.allocate("x"), Some(Ipv4Addr::new(10, 0, 0, 2)));
    }

    #[test]
    fn large_pool_skips_dot_zero_and_dot_255() {
        let mut ipam = Ipam::new("10.244.0.0/16").unwrap();
        let ips: Vec<_> = (0..600)
            .map(|i| ipam.allocate(&i.to_string()).unwrap())
            .collect();
        assert!(ips
            .iter()
            .all(|ip| ip.octets()[3] != 0 && ip.octets()[3] != 255));
        assert_eq!(ips[253], Ipv4Addr::new(10, 244, 1, 1));
    }

    #[test]
    fn reserve_for_adoption() {
        let mut ipam = Ipam::new("10.244.0.0/24").unwrap();
        assert!(ipam.reserve("a", Ipv4Addr::new(10, 244, 0, 7)));
        assert!(ipam.reserve("a", Ipv4Addr::new(10, 244, 0, 7)));
        assert!(!ipam.reserve("b", Ipv4Addr::new(10, 244, 0, 7)));
        assert!(!ipam.reserve("c", Ipv4Addr::new(10, 245, 0, 7)));
        assert!(!ipam.reserve("d", Ipv4Addr::new(10, 244, 0, 1)));
        assert_eq!(ipam.get("a"), Some(Ipv4Addr::new(10, 244, 0, 7)));
        assert_eq!(ipam.allocate("e"), Some(Ipv4Addr::new(10, 244, 0, 8)));
    }
}
