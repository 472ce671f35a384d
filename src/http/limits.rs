//! Keyed rate limits (governor, GCRA) per client address, and the lockout
//! of addresses that guess the admin token.
//!
//! Keys are client addresses with IPv6 cut to its /64: one machine usually
//! owns a whole /64, so per-address keys would give it 2^64 buckets. State
//! grows with the number of distinct keys, so [`RateLimits::prune`] runs on a
//! timer and drops every key that has fully recovered.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::client_addr::canonical;
use crate::config::Config;

/// How often limiter state is pruned.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// Most addresses kept locked out at once; beyond it the oldest lockouts are
/// the first to go when pruning, and new ones wait for room (the failure
/// limiter still answers 429 meanwhile).
const MAX_LOCKOUTS: usize = 100_000;

/// The key of a client: its address, IPv6 cut to /64.
pub fn key_of(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// One keyed limiter; `C` is a fake clock in tests.
pub struct KeyedLimiter<C: Clock = DefaultClock> {
    inner: RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, C, NoOpMiddleware<C::Instant>>,
    clock: C,
}

impl<C: Clock> std::fmt::Debug for KeyedLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimiter")
            .field("keys", &self.inner.len())
            .finish()
    }
}

impl KeyedLimiter<DefaultClock> {
    /// A limiter on the real clock.
    pub fn new(quota: Quota) -> KeyedLimiter<DefaultClock> {
        KeyedLimiter::with_clock(quota, DefaultClock::default())
    }
}

impl<C: Clock + Clone> KeyedLimiter<C> {
    /// A limiter on `clock`.
    pub fn with_clock(quota: Quota, clock: C) -> KeyedLimiter<C> {
        KeyedLimiter {
            inner: RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock.clone()),
            clock,
        }
    }

    /// Takes one cell for `ip`, or says how long to wait.
    ///
    /// # Errors
    /// The time until the next request from this key would be allowed.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.inner
            .check_key(&key_of(ip))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Drops keys that have fully recovered and gives the memory back.
    pub fn prune(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

/// Failed admin logins: a limiter of failures, and addresses locked out
/// until it would allow them again. While locked, even the right token is
/// refused, so guessing cannot go faster than the quota.
pub struct AuthGuard<C: Clock = DefaultClock> {
    failures: KeyedLimiter<C>,
    locked: Mutex<HashMap<IpAddr, C::Instant>>,
}

impl<C: Clock> std::fmt::Debug for AuthGuard<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthGuard")
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

impl<C: Clock + Clone> AuthGuard<C> {
    /// Allows `per_minute` failures a minute per address.
    pub fn with_clock(per_minute: NonZeroU32, clock: C) -> AuthGuard<C> {
        AuthGuard {
            failures: KeyedLimiter::with_clock(Quota::per_minute(per_minute), clock),
            locked: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` while `ip` is locked out.
    ///
    /// # Errors
    /// The time left on the lockout.
    pub fn check_locked(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = self.failures.clock.now();
        let locked = self.locked.lock().unwrap_or_else(PoisonError::into_inner);
        match locked.get(&key_of(ip)) {
            Some(until) if *until > now => Err(until.duration_since(now).into()),
            _ => Ok(()),
        }
    }

    /// Records a failed login; `Err(wait)` when this failure locks the
    /// address out.
    ///
    /// # Errors
    /// How long the address is now locked out.
    pub fn record_failure(&self, ip: IpAddr) -> Result<(), Duration> {
        let wait = match self.failures.check(ip) {
            Ok(()) => return Ok(()),
            Err(wait) => wait,
        };
        let until = self.failures.clock.now() + wait.into();
        let mut locked = self.locked.lock().unwrap_or_else(PoisonError::into_inner);
        if locked.len() < MAX_LOCKOUTS || locked.contains_key(&key_of(ip)) {
            locked.insert(key_of(ip), until);
        }
        Err(wait)
    }

    /// Forgets expired lockouts and recovered failure counts.
    pub fn prune(&self) {
        self.failures.prune();
        let now = self.failures.clock.now();
        let mut locked = self.locked.lock().unwrap_or_else(PoisonError::into_inner);
        locked.retain(|_, until| *until > now);
        locked.shrink_to_fit();
    }
}

/// Every limit of the service; `None` when limits are turned off.
#[derive(Debug)]
pub struct RateLimits {
    /// `POST /api/comments`.
    pub post: KeyedLimiter,
    /// Public `GET /api/...`.
    pub read: KeyedLimiter,
    /// Failed admin logins.
    pub auth: AuthGuard,
}

impl RateLimits {
    /// The limits of `config`, or `None` when `rate_limits_enabled` is off.
    pub fn from_config(config: &Config) -> Option<RateLimits> {
        if !config.rate_limits_enabled {
            return None;
        }
        // validate() guarantees every value is at least 1.
        let nonzero = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        let post = Quota::with_period(Duration::from_secs(config.rate_post_period_secs))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(nonzero(config.rate_post_burst));
        let read = Quota::per_second(nonzero(config.rate_read_per_sec))
            .allow_burst(nonzero(config.rate_read_burst));
        Some(RateLimits {
            post: KeyedLimiter::new(post),
            read: KeyedLimiter::new(read),
            auth: AuthGuard::with_clock(
                nonzero(config.rate_auth_failures_per_min),
                DefaultClock::default(),
            ),
        })
    }

    /// Prunes every limiter.
    pub fn prune(&self) {
        self.post.prune();
        self.read.prune();
        self.auth.prune();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn post_limiter(clock: &FakeRelativeClock) -> KeyedLimiter<FakeRelativeClock> {
        let quota = Quota::with_period(Duration::from_secs(15))
            .expect("period")
            .allow_burst(NonZeroU32::new(3).expect("3"));
        KeyedLimiter::with_clock(quota, clock.clone())
    }

    #[test]
    fn a_burst_of_three_then_one_every_fifteen_seconds() {
        let clock = FakeRelativeClock::default();
        let limiter = post_limiter(&clock);
        let reader = ip("203.0.113.9");
        for n in 1..=3 {
            assert!(limiter.check(reader).is_ok(), "post {n} of the burst");
        }
        let wait = limiter.check(reader).expect_err("4th post");
        assert_eq!(wait, Duration::from_secs(15));
        assert!(
            limiter.check(ip("203.0.113.10")).is_ok(),
            "another address is unaffected"
        );

        clock.advance(Duration::from_secs(14));
        assert_eq!(limiter.check(reader), Err(Duration::from_secs(1)));
        clock.advance(Duration::from_secs(1));
        assert!(limiter.check(reader).is_ok(), "one more after 15 s");
        assert!(limiter.check(reader).is_err());
    }

    #[test]
    fn ipv6_addresses_share_their_slash_64() {
        let clock = FakeRelativeClock::default();
        let limiter = post_limiter(&clock);
        for host in 1..=3 {
            assert!(limiter.check(ip(&format!("2001:db8:1:2::{host}"))).is_ok());
        }
        assert!(
            limiter.check(ip("2001:db8:1:2:ffff::1")).is_err(),
            "same /64"
        );
        assert!(limiter.check(ip("2001:db8:1:3::1")).is_ok(), "another /64");
    }

    #[test]
    fn eleven_failed_logins_in_a_minute_lock_the_address_out() {
        let clock = FakeRelativeClock::default();
        let guard = AuthGuard::with_clock(NonZeroU32::new(10).expect("10"), clock.clone());
        let attacker = ip("198.51.100.66");
        for n in 1..=10 {
            assert!(guard.check_locked(attacker).is_ok());
            assert!(
                guard.record_failure(attacker).is_ok(),
                "failure {n} is allowed"
            );
        }
        let wait = guard
            .record_failure(attacker)
            .expect_err("11th failure locks");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(6),
            "{wait:?}"
        );
        assert!(
            guard.check_locked(attacker).is_err(),
            "locked even for a right token"
        );
        assert!(
            guard.check_locked(ip("198.51.100.67")).is_ok(),
            "others unaffected"
        );

        clock.advance(wait);
        assert!(guard.check_locked(attacker).is_ok(), "the lockout ends");
        guard.prune();
    }

    /// The bounded-memory claim: a flood of a million distinct addresses is
    /// forgotten once their buckets have refilled.
    #[test]
    fn pruning_forgets_a_million_recovered_addresses() {
        let clock = FakeRelativeClock::default();
        let limiter = post_limiter(&clock);
        for n in 0u32..1_000_000 {
            let _ = limiter.check(IpAddr::V4(n.into()));
        }
        assert_eq!(limiter.len(), 1_000_000);
        limiter.prune();
        assert_eq!(limiter.len(), 1_000_000, "nothing has recovered yet");
        clock.advance(Duration::from_secs(60));
        limiter.prune();
        assert_eq!(limiter.len(), 0);
    }
}
