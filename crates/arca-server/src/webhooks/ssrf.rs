//! Keeping webhooks away from the server's own network (server-side request forgery).
//!
//! A webhook URL is chosen by whoever may create webhooks, and the server then POSTs to it from
//! inside the network: to a database on 10.0.0.5, to `localhost`, to the cloud's metadata
//! service at 169.254.169.254 (credentials). MLflow twice got this wrong: first it checked the
//! URL only when the webhook was created (the `test` endpoint skipped it), then it checked the
//! resolved addresses but let the HTTP client resolve the name again to connect, so a name that
//! answered a public address first and a private one second (DNS rebinding) got through.
//!
//! Here, unless `--webhook-allow-private`:
//! - A URL is checked on create, update, test and at every delivery attempt.
//! - The HTTP client resolves names only through [`PublicOnlyResolver`], which refuses the name
//!   if any address it resolves to is not public and otherwise hands the client exactly the
//!   addresses it checked: the client connects to one of those, with no second lookup to win a
//!   race against. An IP literal is never resolved, so [`check_url`] checks it before sending.
//!   The `url` crate reads hosts as browsers do, so `2130706433`, `0x7f000001` and `0177.0.0.1`
//!   are 127.0.0.1 both to the check and to the client that connects.
//! - Redirects are not followed: a 3xx answer is a failed attempt. Following one would send the
//!   signed body to an address the webhook's owner did not name.
//! - Proxies from the environment (`HTTPS_PROXY`, ...) are ignored: through a proxy, the peer
//!   checked would be the proxy, and the proxy would reach the private address for us.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Whether `ip` is on the public internet. Everything else is refused: loopback, private
/// (RFC 1918, IPv6 ULA), link-local (169.254/16 with the metadata service, fe80::/10), CGNAT
/// (100.64/10), unspecified, multicast, broadcast, documentation and reserved ranges, and IPv6
/// forms that carry one of those IPv4 addresses (mapped, NAT64, 6to4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            // Only 2000::/3 is global unicast; of it, documentation (2001:db8::/32) and the
            // IETF protocol block (2001::/23: Teredo, benchmarking, ORCHID) are not reachable
            // hosts.
            (s[0] & 0xe000) == 0x2000
                && !(s[0] == 0x2001 && s[1] == 0x0db8)
                && !(s[0] == 0x2001 && s[1] < 0x0200)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                   // "this network", 0.0.0.0
        || a == 10                             // private
        || a == 127                            // loopback
        || (a == 100 && (64..128).contains(&b)) // CGNAT
        || (a == 169 && b == 254)              // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)      // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)      // documentation
        || (a == 192 && b == 88 && c == 99)    // 6to4 relay anycast
        || (a == 192 && b == 168)              // private
        || (a == 198 && (b == 18 || b == 19))  // benchmarking
        || (a == 198 && b == 51 && c == 100)   // documentation
        || (a == 203 && b == 0 && c == 113)    // documentation
        || a >= 224) // multicast, reserved, broadcast
}

/// The IPv4 address an IPv6 address stands for, in the forms a connection would reach it by.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low); // NAT64
    }
    if s[..6] == [0; 6] {
        return Some(low); // IPv4-compatible (deprecated), and :: and ::1 land in 0/8
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        )); // 6to4
    }
    None
}

/// Why a webhook URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the guard allows; one per server.
#[derive(Debug, Clone)]
pub struct Guard {
    pub allow_private: bool,
    /// URL schemes a webhook may use (MLflow: `https` only unless configured).
    pub allowed_schemes: Vec<String>,
}

impl Guard {
    /// Parses and checks a webhook URL: scheme, host, and (without the opt-in) that every
    /// address the host stands for is public. The host is resolved here, so this is also what
    /// refuses names like `localhost`.
    pub async fn check_url(&self, raw: &str) -> Result<url::Url, Refused> {
        let url = self.check_syntax(raw)?;
        if self.allow_private {
            return Ok(url);
        }
        let host = url.host().expect("checked by check_syntax");
        let shown = url.host_str().unwrap_or_default().to_owned();
        match host {
            url::Host::Ipv4(ip) => refuse_private(&shown, [IpAddr::V4(ip)])?,
            url::Host::Ipv6(ip) => refuse_private(&shown, [IpAddr::V6(ip)])?,
            url::Host::Domain(name) => {
                let addrs = resolve(name).await?;
                refuse_private(&shown, addrs.iter().map(SocketAddr::ip))?;
            }
        }
        Ok(url)
    }

    pub fn check_syntax(&self, raw: &str) -> Result<url::Url, Refused> {
        if raw.trim().is_empty() {
            return Err(Refused(format!(
                "Webhook URL cannot be empty or just whitespace: '{raw}'"
            )));
        }
        let url = url::Url::parse(raw)
            .map_err(|e| Refused(format!("Invalid webhook URL '{raw}': {e}")))?;
        if !self.allowed_schemes.iter().any(|s| s == url.scheme()) {
            return Err(Refused(format!(
                "Invalid webhook URL scheme: '{}'. Allowed schemes are: {}.",
                url.scheme(),
                self.allowed_schemes.join(", ")
            )));
        }
        if url.host().is_none() {
            return Err(Refused(format!(
                "Webhook URL must include a hostname: '{raw}'"
            )));
        }
        Ok(url)
    }

    /// The client every delivery and test goes through.
    pub fn client(&self, timeout: Duration) -> reqwest::Client {
        let builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("arca-webhooks/", env!("CARGO_PKG_VERSION")));
        let builder = if self.allow_private {
            builder
        } else {
            builder.dns_resolver(Arc::new(PublicOnlyResolver))
        };
        builder
            .build()
            .expect("a client with these settings always builds")
    }
}

fn refuse_private(host: &str, ips: impl IntoIterator<Item = IpAddr>) -> Result<(), Refused> {
    for ip in ips {
        if !is_public(ip) {
            return Err(Refused(format!(
                "Webhook URL must not resolve to a non-public IP address. '{host}' resolves to \
                 {ip}. Start the server with --webhook-allow-private to allow it."
            )));
        }
    }
    Ok(())
}

async fn resolve(name: &str) -> Result<Vec<SocketAddr>, Refused> {
    let lookup = tokio::net::lookup_host((name, 0));
    let addrs = tokio::time::timeout(Duration::from_secs(10), lookup)
        .await
        .map_err(|_| Refused(format!("Timed out resolving webhook URL hostname '{name}'")))?
        .map_err(|e| Refused(format!("Cannot resolve webhook URL hostname '{name}': {e}")))?
        .collect::<Vec<_>>();
    if addrs.is_empty() {
        return Err(Refused(format!(
            "Cannot resolve webhook URL hostname '{name}': no addresses"
        )));
    }
    Ok(addrs)
}

/// The only way the delivery client turns a name into addresses: resolved once, all public or
/// refused, and the checked addresses are the ones the client connects to.
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve(&name).await?;
            refuse_private(&name, addrs.iter().map(SocketAddr::ip))?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl std::error::Error for Refused {}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn private_loopback_link_local_and_their_ipv6_forms_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "::127.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!public(ip), "{ip} must not be public");
        }
        for ip in [
            "8.8.8.8",
            "93.184.216.34",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(ip), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn decimal_hex_and_octal_spellings_of_loopback_are_refused() {
        let guard = Guard {
            allow_private: false,
            allowed_schemes: vec!["http".into(), "https".into()],
        };
        for url in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::ffff:7f00:1]/",
            "http://localhost:8080/",
            "http://[::1]/",
        ] {
            let err = guard.check_url(url).await.unwrap_err();
            assert!(err.0.contains("non-public"), "{url}: {err}");
        }
        assert!(guard.check_url("https://8.8.8.8/hook").await.is_ok());
        let https_only = Guard {
            allow_private: true,
            allowed_schemes: vec!["https".into()],
        };
        assert!(
            https_only
                .check_url("http://8.8.8.8/")
                .await
                .unwrap_err()
                .0
                .contains("scheme")
        );
    }
}
