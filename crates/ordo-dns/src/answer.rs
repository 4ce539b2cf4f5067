//! The Kubernetes DNS specification as a pure function: a lowercase name and a type in, the
//! records (or NXDOMAIN, or "not ours") out; then the DNS response message built from them.

use crate::zone::{dashed, ServiceKind, Zone};
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, NS, PTR, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::net::Ipv4Addr;

/// TTL of every cluster record, as CoreDNS's kubernetes plugin.
pub const TTL: u32 = 5;

/// Record data, with names fully qualified and without the trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// An `A` record: an IPv4 address.
    A(Ipv4Addr),
    /// An `SRV` record (priority 0).
    Srv {
        /// 100 for a ClusterIP Service; for a headless one, 100 split evenly among the
        /// ready endpoints (at least 1).
        weight: u16,
        /// The port number.
        port: u16,
        /// The host serving the port: the Service's name, or an endpoint's name under it.
        target: String,
    },
    /// A `PTR` record: the name an address reverse-resolves to.
    Ptr(String),
    /// A `CNAME` record: the `externalName` of an ExternalName Service.
    Cname(String),
    /// An `NS` record: the cluster domain's name server (`ns.dns.<domain>`).
    Ns(String),
    /// The cluster domain's `SOA` record (the serial is filled in when the response is
    /// built).
    Soa,
}

/// One resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    /// The owner name, lowercase, fully qualified without the trailing dot.
    pub name: String,
    /// The record's type and data.
    pub data: Data,
}

/// The result of a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// NOERROR; an empty answer is NODATA (the name exists, not with this type).
    Answer {
        /// The answer section.
        answers: Vec<Rec>,
        /// The additional section: `A` records of the SRV targets.
        additionals: Vec<Rec>,
    },
    /// The name does not exist in the cluster zone.
    NxDomain,
    /// Not a cluster name: forward it.
    Outside,
}

fn answer(answers: Vec<Rec>) -> Outcome {
    Outcome::Answer {
        answers,
        additionals: Vec::new(),
    }
}

fn nodata() -> Outcome {
    answer(Vec::new())
}

fn rec(name: &str, data: Data) -> Rec {
    Rec {
        name: name.to_string(),
        data,
    }
}

/// `5.0.244.10.in-addr.arpa` → `10.244.0.5`.
pub fn parse_reverse(name: &str) -> Option<Ipv4Addr> {
    let rest = name.strip_suffix(".in-addr.arpa")?;
    let octets: Vec<u8> = rest
        .split('.')
        .map(|o| o.parse().ok())
        .collect::<Option<_>>()?;
    let [d, c, b, a] = <[u8; 4]>::try_from(octets).ok()?;
    Some(Ipv4Addr::new(a, b, c, d))
}

/// `10-244-0-5` → `10.244.0.5`.
pub fn parse_dashed(label: &str) -> Option<Ipv4Addr> {
    let octets: Vec<u8> = label
        .split('-')
        .map(|o| o.parse().ok())
        .collect::<Option<_>>()?;
    let [a, b, c, d] = <[u8; 4]>::try_from(octets).ok()?;
    Some(Ipv4Addr::new(a, b, c, d))
}

/// Answers `qname` (lowercase, no trailing dot) of type `qtype` from `zone`.
pub fn resolve(zone: &Zone, domain: &str, qname: &str, qtype: RecordType) -> Outcome {
    let want = |t: RecordType| qtype == t || qtype == RecordType::ANY;
    if qname.ends_with(".in-addr.arpa") {
        return match parse_reverse(qname).and_then(|ip| zone.ptr.get(&ip)) {
            Some(target) if want(RecordType::PTR) => {
                answer(vec![rec(qname, Data::Ptr(target.clone()))])
            }
            Some(_) => nodata(),
            None => Outcome::Outside,
        };
    }
    let rest = if qname == domain {
        ""
    } else if let Some(r) = qname.strip_suffix(domain).and_then(|r| r.strip_suffix('.')) {
        r
    } else {
        return Outcome::Outside;
    };
    let labels: Vec<&str> = if rest.is_empty() {
        vec![]
    } else {
        rest.split('.').collect()
    };
    let a_of = |ips: Vec<Ipv4Addr>| {
        if want(RecordType::A) {
            answer(ips.into_iter().map(|ip| rec(qname, Data::A(ip))).collect())
        } else {
            nodata()
        }
    };
    match labels.as_slice() {
        [] if want(RecordType::SOA) => answer(vec![rec(domain, Data::Soa)]),
        [] if want(RecordType::NS) => {
            answer(vec![rec(domain, Data::Ns(format!("ns.dns.{domain}")))])
        }
        [] | ["svc"] | ["pod"] => nodata(),
        ["ns", "dns"] => match zone
            .services
            .get(&("kube-system".into(), "kube-dns".into()))
        {
            Some(s) => match s.kind {
                ServiceKind::ClusterIp(ip) => a_of(vec![ip]),
                _ => nodata(),
            },
            None => Outcome::NxDomain,
        },
        [ns, "svc" | "pod"] if zone.namespaces.contains(*ns) => nodata(),
        [svc, ns, "svc"] => service(zone, domain, qname, qtype, ns, svc),
        [port, proto, svc, ns, "svc"] if port.starts_with('_') && proto.starts_with('_') => {
            srv(zone, domain, qname, qtype, ns, svc, &port[1..], &proto[1..])
        }
        [host, svc, ns, "svc"] => {
            let Some(s) = zone.services.get(&(ns.to_string(), svc.to_string())) else {
                return Outcome::NxDomain;
            };
            if s.kind != ServiceKind::Headless {
                return Outcome::NxDomain;
            }
            let ips: Vec<Ipv4Addr> = s
                .endpoints
                .iter()
                .filter(|e| {
                    e.ready && (e.hostname.as_deref() == Some(*host) || dashed(e.ip) == *host)
                })
                .map(|e| e.ip)
                .collect();
            if ips.is_empty() {
                Outcome::NxDomain
            } else {
                a_of(ips)
            }
        }
        [ip, ns, "pod"] => match parse_dashed(ip) {
            Some(ip) if zone.pod_ips.contains(&(ns.to_string(), ip)) => a_of(vec![ip]),
            _ => Outcome::NxDomain,
        },
        _ => Outcome::NxDomain,
    }
}

fn service(
    zone: &Zone,
    domain: &str,
    qname: &str,
    qtype: RecordType,
    ns: &str,
    name: &str,
) -> Outcome {
    let Some(s) = zone.services.get(&(ns.to_string(), name.to_string())) else {
        return Outcome::NxDomain;
    };
    let want_a = qtype == RecordType::A || qtype == RecordType::ANY;
    match &s.kind {
        ServiceKind::ExternalName(target) => answer(vec![rec(qname, Data::Cname(target.clone()))]),
        ServiceKind::ClusterIp(ip) if want_a => answer(vec![rec(qname, Data::A(*ip))]),
        ServiceKind::Headless if want_a => {
            let mut ips: Vec<Ipv4Addr> = s
                .endpoints
                .iter()
                .filter(|e| e.ready)
                .map(|e| e.ip)
                .collect();
            ips.dedup();
            answer(ips.into_iter().map(|ip| rec(qname, Data::A(ip))).collect())
        }
        _ if qtype == RecordType::SRV => {
            // SRV on the bare service name: every named port.
            let mut answers = Vec::new();
            let mut additionals = Vec::new();
            for p in &s.ports {
                if let Outcome::Answer {
                    answers: a,
                    additionals: x,
                } = srv(zone, domain, qname, qtype, ns, name, &p.name, &p.protocol)
                {
                    answers.extend(a.into_iter().map(|r| rec(qname, r.data)));
                    additionals.extend(
                        x.into_iter()
                            .filter(|r| !additionals.contains(r))
                            .collect::<Vec<_>>(),
                    );
                }
            }
            Outcome::Answer {
                answers,
                additionals,
            }
        }
        _ => nodata(),
    }
}

#[allow(clippy::too_many_arguments)]
fn srv(
    zone: &Zone,
    domain: &str,
    qname: &str,
    qtype: RecordType,
    ns: &str,
    name: &str,
    port: &str,
    proto: &str,
) -> Outcome {
    let Some(s) = zone.services.get(&(ns.to_string(), name.to_string())) else {
        return Outcome::NxDomain;
    };
    let svc_name = format!("{name}.{ns}.svc.{domain}");
    let (mut answers, mut additionals) = (Vec::new(), Vec::new());
    match s.kind {
        ServiceKind::ClusterIp(ip) => {
            if let Some(p) = s
                .ports
                .iter()
                .find(|p| p.name == port && p.protocol == proto)
            {
                answers.push(rec(
                    qname,
                    Data::Srv {
                        weight: 100,
                        port: p.port,
                        target: svc_name.clone(),
                    },
                ));
                additionals.push(rec(&svc_name, Data::A(ip)));
            }
        }
        ServiceKind::Headless => {
            let eps: Vec<_> = s
                .endpoints
                .iter()
                .filter(|e| e.ready)
                .filter_map(|e| {
                    Some((
                        e,
                        e.ports
                            .iter()
                            .find(|p| p.name == port && p.protocol == proto)?,
                    ))
                })
                .collect();
            let weight = (100 / eps.len().max(1)).max(1) as u16;
            for (e, p) in eps {
                let host = e.hostname.clone().unwrap_or_else(|| dashed(e.ip));
                let target = format!("{host}.{svc_name}");
                answers.push(rec(
                    qname,
                    Data::Srv {
                        weight,
                        port: p.port,
                        target: target.clone(),
                    },
                ));
                additionals.push(rec(&target, Data::A(e.ip)));
            }
        }
        ServiceKind::ExternalName(_) => {}
    }
    if answers.is_empty() {
        Outcome::NxDomain
    } else if qtype == RecordType::SRV || qtype == RecordType::ANY {
        Outcome::Answer {
            answers,
            additionals,
        }
    } else {
        nodata()
    }
}

fn name(s: &str) -> Name {
    Name::from_ascii(format!("{s}.")).unwrap_or_else(|_| Name::root())
}

fn to_record(r: &Rec, domain: &str, serial: u32, qname: &Name, lower_qname: &str) -> Record {
    // Answers for the question carry the name exactly as asked (0x20 case randomisation).
    let owner = if r.name == lower_qname {
        qname.clone()
    } else {
        name(&r.name)
    };
    let data = match &r.data {
        Data::A(ip) => RData::A(A(*ip)),
        Data::Srv {
            weight,
            port,
            target,
        } => RData::SRV(SRV::new(0, *weight, *port, name(target))),
        Data::Ptr(t) => RData::PTR(PTR(name(t))),
        Data::Cname(t) => RData::CNAME(CNAME(name(t))),
        Data::Ns(t) => RData::NS(NS(name(t))),
        Data::Soa => RData::SOA(soa(domain, serial)),
    };
    Record::from_rdata(owner, TTL, data)
}

fn soa(domain: &str, serial: u32) -> SOA {
    SOA::new(
        name(&format!("ns.dns.{domain}")),
        name(&format!("hostmaster.{domain}")),
        serial,
        7200,
        1800,
        86400,
        TTL,
    )
}

/// The response to `req` for a cluster name, or `None` when the name is not ours.
pub fn respond(zone: &Zone, domain: &str, serial: u32, req: &Message) -> Option<Message> {
    let q = req.queries.first()?;
    let lower_qname = q.name.to_ascii().trim_end_matches('.').to_ascii_lowercase();
    let outcome = resolve(zone, domain, &lower_qname, q.query_type);
    let mut resp = response_to(req, ResponseCode::NoError);
    resp.metadata.authoritative = true;
    let conv = |r: &Rec| to_record(r, domain, serial, &q.name, &lower_qname);
    match outcome {
        Outcome::Outside => return None,
        Outcome::NxDomain => {
            resp.metadata.response_code = ResponseCode::NXDomain;
            resp.add_authority(Record::from_rdata(
                name(domain),
                TTL,
                RData::SOA(soa(domain, serial)),
            ));
        }
        Outcome::Answer {
            answers,
            additionals,
        } => {
            if answers.is_empty() {
                resp.add_authority(Record::from_rdata(
                    name(domain),
                    TTL,
                    RData::SOA(soa(domain, serial)),
                ));
            }
            resp.add_answers(answers.iter().map(conv));
            resp.add_additionals(additionals.iter().map(conv));
        }
    }
    Some(resp)
}

/// An empty response to `req` with `code`, echoing the question and EDNS.
pub fn response_to(req: &Message, code: ResponseCode) -> Message {
    let mut resp = Message::new(req.metadata.id, MessageType::Response, OpCode::Query);
    resp.metadata.op_code = req.metadata.op_code;
    resp.metadata.recursion_desired = req.metadata.recursion_desired;
    resp.metadata.recursion_available = true;
    resp.metadata.response_code = code;
    resp.add_queries(req.queries.iter().cloned());
    if req.edns.is_some() {
        resp.set_edns(hickory_proto::op::Edns::new());
    }
    resp
}
