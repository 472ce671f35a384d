//! Who the client is: the TCP peer, or, only when the peer is a trusted
//! proxy, the right-most address of `Forwarded` / `X-Forwarded-For` that is
//! not itself a trusted proxy.
//!
//! Without a trusted proxy in front, forwarded headers are ignored: a bot
//! that sends `X-Forwarded-For: 1.2.3.4` must not pick its own identity and
//! with it a fresh rate-limit bucket.

use std::net::IpAddr;

use ipnet::IpNet;

/// Resolves the client address from the peer and the forwarding headers.
#[derive(Debug, Clone, Default)]
pub struct ClientAddrResolver {
    trusted: Vec<IpNet>,
}

impl ClientAddrResolver {
    /// Trusts the proxies in `trusted` (CIDRs).
    pub fn new(trusted: Vec<IpNet>) -> ClientAddrResolver {
        ClientAddrResolver { trusted }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client address. `forwarded` and `x_forwarded_for` are every value
    /// of those headers, in order; `Forwarded` (RFC 7239) wins when present.
    pub fn resolve(
        &self,
        peer: Option<IpAddr>,
        forwarded: &[&str],
        x_forwarded_for: &[&str],
    ) -> Option<IpAddr> {
        let peer = canonical(peer?);
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let hops: Vec<Option<IpAddr>> = if !forwarded.is_empty() {
            forwarded
                .iter()
                .flat_map(|v| v.split(','))
                .map(forwarded_for)
                .collect()
        } else {
            x_forwarded_for
                .iter()
                .flat_map(|v| v.split(','))
                .map(|hop| parse_hop(hop.trim()))
                .collect()
        };
        // Walk from the nearest hop outwards; the first one that is not a
        // trusted proxy is the client. An unreadable hop ends the walk: what
        // lies beyond it was written by someone we do not trust to be exact.
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) => {
                    client = canonical(*ip);
                    if !self.is_trusted(client) {
                        break;
                    }
                }
                None => break,
            }
        }
        Some(client)
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are IPv4 addresses.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The `for=` parameter of one `Forwarded` element.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("for") {
            parse_hop(value.trim().trim_matches('"'))
        } else {
            None
        }
    })
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    hop.rsplit_once(':')
        .filter(|(ip, _)| !ip.contains(':'))
        .and_then(|(ip, _)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn resolver() -> ClientAddrResolver {
        ClientAddrResolver::new(vec![
            "127.0.0.1/32".parse().expect("cidr"),
            "10.0.0.0/8".parse().expect("cidr"),
        ])
    }

    #[test]
    fn an_untrusted_peer_cannot_pick_its_identity() {
        let got = resolver().resolve(Some(ip("203.0.113.9")), &[], &["1.2.3.4"]);
        assert_eq!(got, Some(ip("203.0.113.9")));
        let got =
            ClientAddrResolver::default().resolve(Some(ip("127.0.0.1")), &["for=1.2.3.4"], &[]);
        assert_eq!(got, Some(ip("127.0.0.1")), "no trusted proxies configured");
    }

    #[test]
    fn a_trusted_proxy_is_believed_right_to_left() {
        let cases: &[(&[&str], &[&str], &str, &str)] = &[
            (&[], &["198.51.100.7"], "198.51.100.7", "one hop"),
            (
                &[],
                &["6.6.6.6, 198.51.100.7, 10.1.2.3"],
                "198.51.100.7",
                "spoofed left part ignored",
            ),
            (
                &[],
                &["6.6.6.6", "198.51.100.7"],
                "198.51.100.7",
                "several header lines",
            ),
            (&[], &["198.51.100.7:5555"], "198.51.100.7", "with a port"),
            (&[], &["[2001:db8::7]:4711"], "2001:db8::7", "bracketed v6"),
            (
                &[],
                &["garbage, 10.0.0.5"],
                "10.0.0.5",
                "unreadable hop stops the walk",
            ),
            (&[], &["10.0.0.9"], "10.0.0.9", "every hop trusted"),
            (&[], &[], "127.0.0.1", "no header: the proxy itself"),
            (
                &["for=192.0.2.60;proto=http, for=10.0.0.2"],
                &["6.6.6.6"],
                "192.0.2.60",
                "Forwarded wins",
            ),
            (
                &["For=\"[2001:db8:cafe::17]:4711\""],
                &[],
                "2001:db8:cafe::17",
                "quoted v6 with port",
            ),
        ];
        for (forwarded, xff, expected, case) in cases {
            let got = resolver().resolve(Some(ip("127.0.0.1")), forwarded, xff);
            assert_eq!(got, Some(ip(expected)), "{case}");
        }
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_networks() {
        let got = resolver().resolve(Some(ip("::ffff:127.0.0.1")), &[], &["198.51.100.7"]);
        assert_eq!(got, Some(ip("198.51.100.7")));
    }
}
