//! Pod churn: when pods start and how long they live, drawn from the scenario's distributions
//! on the engine's clock, each from its own random stream.
//!
//! Arrivals are a Poisson process (exponential gaps), a daily profile (a Poisson process whose
//! rate follows the time of day, drawn by thinning at the day's peak rate), or deploy waves
//! (each wave's pods uniform over its spread). A replayed event log gives start and stop times
//! itself. Lifetimes are exponential, lognormal (median·e^{σZ}) or fixed.

use crate::engine::Time;
use crate::scenario::{Arrivals, Lifetime, Rate, Wave};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, StandardNormal};

const DAY_NS: u64 = 86_400_000_000_000;

/// Draws pod arrivals.
#[derive(Clone)]
pub struct ArrivalProcess {
    kind: Kind,
    rng: ChaCha8Rng,
}

#[derive(Clone)]
enum Kind {
    Poisson {
        rate: f64,
    },
    Daily {
        points: Vec<(u64, f64)>,
        peak: f64,
    },
    /// Arrival times not yet handed out, latest first.
    Fixed(Vec<Time>),
    None,
}

fn per_ns(r: Rate) -> f64 {
    r.per_second() / 1e9
}

fn exp_gap(rng: &mut ChaCha8Rng, rate_per_ns: f64) -> Option<u64> {
    let d = Exp::new(rate_per_ns).ok()?;
    let gap: f64 = d.sample(rng);
    (gap.is_finite() && gap < 1e20).then_some(gap.max(1.0) as u64)
}

impl ArrivalProcess {
    /// The arrivals of `a` (a replay is handled by the caller: it has no random arrivals).
    pub fn new(a: &Arrivals, mut rng: ChaCha8Rng) -> ArrivalProcess {
        let kind = match a {
            Arrivals::Poisson(r) => Kind::Poisson { rate: per_ns(*r) },
            Arrivals::Daily(_) => {
                let points: Vec<(u64, f64)> = a
                    .daily_points()
                    .into_iter()
                    .map(|(t, r)| (t.0, per_ns(r)))
                    .collect();
                let peak = points.iter().map(|p| p.1).fold(0.0, f64::max);
                Kind::Daily { points, peak }
            }
            Arrivals::Waves(waves) => Kind::Fixed(wave_times(waves, &mut rng)),
            Arrivals::Replay(_) => Kind::None,
        };
        ArrivalProcess { kind, rng }
    }

    /// The next arrival after `now`, or `None` when there are no more.
    pub fn next(&mut self, now: Time) -> Option<Time> {
        match &mut self.kind {
            Kind::Poisson { rate } => exp_gap(&mut self.rng, *rate).map(|g| now.after(Time(g))),
            Kind::Daily { points, peak } => {
                let mut t = now.0;
                loop {
                    t = t.checked_add(exp_gap(&mut self.rng, *peak)?)?;
                    let rate = rate_at(points, t % DAY_NS);
                    if self.rng.random::<f64>() * *peak < rate {
                        return Some(Time(t));
                    }
                }
            }
            Kind::Fixed(times) => times.pop(),
            Kind::None => None,
        }
    }
}

/// The rate in force at time of day `tod`: the last point at or before it, wrapping around
/// midnight to the day's last point.
fn rate_at(points: &[(u64, f64)], tod: u64) -> f64 {
    points
        .iter()
        .rev()
        .find(|p| p.0 <= tod)
        .or(points.last())
        .map_or(0.0, |p| p.1)
}

fn wave_times(waves: &[Wave], rng: &mut ChaCha8Rng) -> Vec<Time> {
    let mut v: Vec<Time> = waves
        .iter()
        .flat_map(|w| {
            (0..w.count)
                .map(|_| {
                    let off = if w.spread.0 > 0 {
                        rng.random_range(0..w.spread.0)
                    } else {
                        0
                    };
                    Time(w.at.0.saturating_add(off))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    v.sort_unstable_by(|a, b| b.cmp(a));
    v
}

/// Draws a pod's lifetime.
pub fn lifetime(l: &Lifetime, rng: &mut ChaCha8Rng) -> Time {
    let ns = match l {
        Lifetime::Fixed(d) => d.0 as f64,
        Lifetime::Exponential(mean) => Exp::new(1.0 / (mean.0 as f64).max(1.0))
            .map(|d| d.sample(rng))
            .unwrap_or(mean.0 as f64),
        Lifetime::Lognormal { median, sigma } => {
            let z: f64 = StandardNormal.sample(rng);
            median.0 as f64 * (sigma * z).exp()
        }
    };
    Time(ns.clamp(1.0, 1e19) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::Streams;
    use crate::scenario::{DailyEntry, DailyPoint, Duration};

    fn rate(s: &str) -> Rate {
        s.parse().unwrap()
    }

    #[test]
    fn poisson_mean_gap_matches_the_rate() {
        let mut p = ArrivalProcess::new(
            &Arrivals::Poisson(rate("120/h")),
            Streams::new(1).stream("a"),
        );
        let mut t = Time(0);
        for _ in 0..20_000 {
            t = p.next(t).unwrap();
        }
        let hours = t.as_secs_f64() / 3600.0;
        assert!((hours - 20_000.0 / 120.0).abs() < 5.0, "{hours}");
    }

    #[test]
    fn daily_profile_follows_the_time_of_day() {
        let day = Arrivals::Daily(vec![
            DailyEntry::From(DailyPoint {
                at: Duration::from_secs(0),
                rate: rate("0/h"),
            }),
            DailyEntry::From(DailyPoint {
                at: Duration::from_secs(12 * 3600),
                rate: rate("100/h"),
            }),
        ]);
        let mut p = ArrivalProcess::new(&day, Streams::new(2).stream("a"));
        let mut t = Time(0);
        for _ in 0..2000 {
            t = p.next(t).unwrap();
            let tod = t.0 % DAY_NS;
            assert!(tod >= 12 * 3_600_000_000_000, "arrival at night: {tod}");
        }
    }

    #[test]
    fn waves_hand_out_every_pod_in_time_order() {
        let w = Arrivals::Waves(vec![
            Wave {
                at: Duration::from_secs(60),
                count: 3,
                spread: Duration::from_secs(10),
            },
            Wave {
                at: Duration::from_secs(0),
                count: 2,
                spread: Duration::from_secs(0),
            },
        ]);
        let mut p = ArrivalProcess::new(&w, Streams::new(3).stream("a"));
        let times: Vec<Time> = std::iter::from_fn(|| p.next(Time(0))).collect();
        assert_eq!(times.len(), 5);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(times[0], Time(0));
        assert!(times[4] >= Time::from_secs(60) && times[4] < Time::from_secs(70));
    }

    #[test]
    fn lognormal_median_is_the_median() {
        let l = Lifetime::Lognormal {
            median: Duration::from_secs(600),
            sigma: 1.0,
        };
        let mut rng = Streams::new(4).stream("l");
        let mut v: Vec<u64> = (0..10_001).map(|_| lifetime(&l, &mut rng).0).collect();
        v.sort_unstable();
        let median = v[5000] as f64 / 1e9;
        assert!((median - 600.0).abs() < 40.0, "{median}");
    }
}
