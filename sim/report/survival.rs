//! Time to first failure across a sweep's seeds: the Kaplan–Meier estimator with
//! right-censoring.
//!
//! Each run of a grid point is one observation: the simulated time of its first failure (an
//! event), or, when it never failed, the time it ran to (censored: it survived at least that
//! long). With `n_i` runs still at risk just before event time `t_i` and `d_i` failures at
//! `t_i`, the survival curve is the step function `S(t) = Π_{t_i ≤ t} (1 − d_i / n_i)`. Runs
//! censored at `t_i` count as at risk at `t_i` (they had not failed yet), the usual convention.
//!
//! The variance is Greenwood's, `Var S(t) = S(t)² Σ_{t_i ≤ t} d_i / (n_i (n_i − d_i))`. The 90 %
//! pointwise interval is the log-log (Kalbfleisch–Prentice) one: with
//! `σ = sqrt(Σ d_i / (n_i (n_i − d_i))) / |ln S(t)|`, the bounds are `S(t)^exp(±z σ)`, `z` the
//! 95th percentile of the standard normal. It is used rather than the plain `S ± z·se` because
//! sweeps look for small failure probabilities with a few dozen seeds, where `S` sits close to 1:
//! the plain interval then crosses 1 and is symmetric where the uncertainty is not, while the
//! log-log interval always stays inside [0, 1] and has better coverage in small samples. Where
//! `S(t) = 1` the interval is [1, 1]; once `S(t)` reaches 0 (every run at risk failed) Greenwood's
//! sum is undefined and the interval is [0, 0].
//!
//! Quantiles read the curve: the `p` quantile of the time to first failure is the first event
//! time at which `S(t) ≤ 1 − p`, and does not exist when the curve never drops that low (too few
//! failures within the runs' horizon).

use crate::workload::run::Summary;
use serde::Serialize;

/// The standard normal's 95th percentile: the two-sided 90 % interval's half-width in σ.
const Z90: f64 = 1.644_853_626_951_472_2;

/// Tolerance when comparing the curve with a quantile's level (the product of ratios is not
/// exact: 1 − 1/2 of a curve at 0.5 may come out as 0.5000000000000001).
const LEVEL_EPS: f64 = 1e-12;

/// One run's time to first failure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    /// Seconds to the first failure, or to the end of the run when there was none.
    pub time_s: f64,
    /// True when the run failed at `time_s`; false when it was censored there.
    pub failed: bool,
}

/// A run's time to first failure: its failure when there was one within `horizon_s`,
/// otherwise censored at the time the run reached (at most the horizon).
pub fn first_failure(summary: &Summary, horizon_s: f64) -> Observation {
    match &summary.first_failure {
        Some(f) if f.time_s <= horizon_s => Observation {
            time_s: f.time_s,
            failed: true,
        },
        _ => Observation {
            time_s: summary.simulated_s.min(horizon_s),
            failed: false,
        },
    }
}

/// One step of the curve: the value from `time_s` until the next step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Step {
    pub time_s: f64,
    /// Runs that had neither failed nor been censored before `time_s`.
    pub at_risk: usize,
    /// Runs that failed at `time_s`.
    pub failed: usize,
    pub survival: f64,
    /// Greenwood's standard error of `survival`.
    pub std_err: f64,
    /// The 90 % pointwise interval (log-log).
    pub lower: f64,
    pub upper: f64,
}

/// A Kaplan–Meier survival curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KaplanMeier {
    /// Observations the curve was estimated from.
    pub runs: usize,
    /// How many of them failed.
    pub failed: usize,
    /// The steps in time order, starting with time 0 and survival 1, then one per distinct
    /// failure time, then (with no failure) the last observation's time when it is later, so a
    /// curve runs as far as its runs were followed.
    pub steps: Vec<Step>,
}

impl KaplanMeier {
    /// Estimates the curve from `observations` (in any order).
    pub fn estimate(observations: &[Observation]) -> KaplanMeier {
        let mut obs = observations.to_vec();
        obs.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
        let mut steps = vec![Step {
            time_s: 0.0,
            at_risk: obs.len(),
            failed: 0,
            survival: 1.0,
            std_err: 0.0,
            lower: 1.0,
            upper: 1.0,
        }];
        let (mut survival, mut greenwood) = (1.0_f64, 0.0_f64);
        let mut i = 0;
        while i < obs.len() {
            let t = obs[i].time_s;
            let at_risk = obs.len() - i;
            let same = obs[i..].iter().take_while(|o| o.time_s == t).count();
            let failed = obs[i..i + same].iter().filter(|o| o.failed).count();
            i += same;
            if failed == 0 {
                continue;
            }
            survival *= 1.0 - failed as f64 / at_risk as f64;
            let (std_err, lower, upper) = if failed == at_risk {
                (0.0, 0.0, 0.0)
            } else {
                greenwood += failed as f64 / (at_risk as f64 * (at_risk - failed) as f64);
                let sigma = greenwood.sqrt() / survival.ln().abs();
                (
                    survival * greenwood.sqrt(),
                    survival.powf((Z90 * sigma).exp()),
                    survival.powf((-Z90 * sigma).exp()),
                )
            };
            steps.push(Step {
                time_s: t,
                at_risk,
                failed,
                survival,
                std_err,
                lower,
                upper,
            });
        }
        let last = *steps.last().expect("the curve starts with a step");
        if let Some(end) = obs.last().filter(|o| o.time_s > last.time_s) {
            let at_risk = obs.iter().filter(|o| o.time_s >= end.time_s).count();
            steps.push(Step {
                time_s: end.time_s,
                at_risk,
                failed: 0,
                ..last
            });
        }
        let failed = obs.iter().filter(|o| o.failed).count();
        KaplanMeier {
            runs: obs.len(),
            failed,
            steps,
        }
    }

    /// `S(t)`: the share of runs expected to be still without a failure at `time_s`.
    pub fn survival_at(&self, time_s: f64) -> f64 {
        self.steps
            .iter()
            .take_while(|s| s.time_s <= time_s)
            .last()
            .map_or(1.0, |s| s.survival)
    }

    /// The time by which a share `p` of runs has failed: the first step with `S ≤ 1 − p`;
    /// `None` when the curve never drops that low.
    pub fn quantile(&self, p: f64) -> Option<f64> {
        self.steps
            .iter()
            .find(|s| s.survival <= 1.0 - p + LEVEL_EPS && s.failed > 0)
            .map(|s| s.time_s)
    }

    /// The median time to first failure.
    pub fn median(&self) -> Option<f64> {
        self.quantile(0.5)
    }

    /// The 5 % and 95 % quantiles: the interval holding the middle 90 % of first-failure times.
    pub fn interval90(&self) -> (Option<f64>, Option<f64>) {
        (self.quantile(0.05), self.quantile(0.95))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(data: &[(f64, bool)]) -> Vec<Observation> {
        data.iter()
            .map(|&(time_s, failed)| Observation { time_s, failed })
            .collect()
    }

    /// The 6-MP arm of Freireich et al. (1963), the textbook example of Kaplan–Meier with
    /// censoring (Gehan 1965; Kleinbaum & Klein, *Survival Analysis*, ch. 2; Klein &
    /// Moeschberger, table 4.1): weeks in remission of 21 leukaemia patients, `+` censored:
    /// 6 6 6 6+ 7 9+ 10 10+ 11+ 13 16 17+ 19+ 20+ 22 23 25+ 32+ 32+ 34+ 35+.
    fn six_mp() -> KaplanMeier {
        let f = true;
        let c = false;
        KaplanMeier::estimate(&obs(&[
            (35.0, c),
            (6.0, f),
            (6.0, f),
            (6.0, f),
            (6.0, c),
            (7.0, f),
            (9.0, c),
            (10.0, f),
            (10.0, c),
            (11.0, c),
            (13.0, f),
            (16.0, f),
            (17.0, c),
            (19.0, c),
            (20.0, c),
            (22.0, f),
            (23.0, f),
            (25.0, c),
            (32.0, c),
            (32.0, c),
            (34.0, c),
        ]))
    }

    #[test]
    fn six_mp_curve_matches_the_textbook() {
        let km = six_mp();
        assert_eq!((km.runs, km.failed), (21, 9));
        // (time, at risk, failed, S(t), Greenwood se) as the textbooks print them.
        let book = [
            (0.0, 21, 0, 1.0, 0.0),
            (6.0, 21, 3, 0.857143, 0.0764),
            (7.0, 17, 1, 0.806723, 0.0869),
            (10.0, 15, 1, 0.752941, 0.0963),
            (13.0, 12, 1, 0.690196, 0.1068),
            (16.0, 11, 1, 0.627451, 0.1141),
            (22.0, 7, 1, 0.537815, 0.1282),
            (23.0, 6, 1, 0.448179, 0.1346),
        ];
        // Then the curve runs on to the last patient, censored at 35 weeks.
        assert_eq!(km.steps.len(), book.len() + 1);
        let tail = km.steps.last().unwrap();
        assert_eq!((tail.time_s, tail.at_risk, tail.failed), (35.0, 1, 0));
        assert_eq!(tail.survival, km.steps[book.len() - 1].survival);
        for (s, &(t, n, d, surv, se)) in km.steps.iter().zip(&book) {
            assert_eq!((s.time_s, s.at_risk, s.failed), (t, n, d));
            assert!((s.survival - surv).abs() < 5e-7, "{s:?}");
            assert!((s.std_err - se).abs() < 5e-5, "{s:?}");
        }
    }

    #[test]
    fn six_mp_log_log_interval_by_hand() {
        // At week 6: S = 18/21, Greenwood sum 3/(21·18) = 0.0079365, ln S = −0.154151,
        // σ = sqrt(0.0079365)/0.154151 = 0.577920; lower = S^exp(1.644854·σ) = S^2.586868
        // = 0.6711, upper = S^exp(−1.644854·σ) = S^0.386567 = 0.9422.
        // At week 23: S = 0.448179, sum 0.090185, σ = 0.374272; bounds 0.2265 and 0.6481.
        let km = six_mp();
        let at = |t: f64| km.steps.iter().find(|s| s.time_s == t).unwrap();
        for (t, lo, hi) in [(6.0, 0.6711, 0.9422), (23.0, 0.2265, 0.6481)] {
            let s = at(t);
            assert!((s.lower - lo).abs() < 5e-5, "{s:?}");
            assert!((s.upper - hi).abs() < 5e-5, "{s:?}");
        }
        // Every bound stays in [0, 1] around the estimate.
        for s in &km.steps {
            assert!(0.0 <= s.lower && s.lower <= s.survival && s.survival <= s.upper);
            assert!(s.upper <= 1.0);
        }
    }

    #[test]
    fn six_mp_quantiles() {
        let km = six_mp();
        // S drops to 0.448 ≤ 0.5 at week 23 (0.538 at 22 is still above).
        assert_eq!(km.median(), Some(23.0));
        // 5 %: the first step at or below 0.95 is week 6 (0.857).
        assert_eq!(km.quantile(0.05), Some(6.0));
        // 95 %: the curve ends at 0.448, never as low as 0.05.
        assert_eq!(km.interval90(), (Some(6.0), None));
        assert_eq!(km.survival_at(5.9), 1.0);
        assert_eq!(km.survival_at(12.0), km.steps[3].survival);
        assert_eq!(km.survival_at(1e9), km.steps[7].survival);
    }

    #[test]
    fn exact_half_is_the_median_and_all_failed_ends_at_zero() {
        // Two runs fail at 10 and 20: S = 1/2 at 10 (the median), 0 at 20 with a [0, 0] band.
        let km = KaplanMeier::estimate(&obs(&[(20.0, true), (10.0, true)]));
        assert_eq!(km.median(), Some(10.0));
        assert_eq!(km.quantile(0.95), Some(20.0));
        let last = km.steps.last().unwrap();
        assert_eq!((last.survival, last.lower, last.upper), (0.0, 0.0, 0.0));
    }

    #[test]
    fn no_failures_is_a_flat_curve_without_quantiles() {
        let km = KaplanMeier::estimate(&obs(&[(100.0, false), (50.0, false)]));
        assert_eq!(km.steps.len(), 2);
        assert_eq!((km.steps[1].time_s, km.steps[1].survival), (100.0, 1.0));
        assert_eq!(km.failed, 0);
        assert_eq!(km.median(), None);
        assert_eq!(km.interval90(), (None, None));
        let empty = KaplanMeier::estimate(&[]);
        assert_eq!((empty.runs, empty.steps.len()), (0, 1));
    }

    #[test]
    fn the_curve_runs_to_the_last_censored_run() {
        let obs = |time_s, failed| Observation { time_s, failed };
        let km = KaplanMeier::estimate(&[obs(4.0, true), obs(9.0, false), obs(7.0, false)]);
        let tail = km.steps.last().unwrap();
        assert_eq!((tail.time_s, tail.failed, tail.at_risk), (9.0, 0, 1));
        assert_eq!(tail.survival, km.steps[1].survival);
        assert_eq!(km.steps.len(), 3);
        // A last failure ends the curve itself.
        let km = KaplanMeier::estimate(&[obs(4.0, false), obs(9.0, true)]);
        assert_eq!(km.steps.last().unwrap().time_s, 9.0);
        assert_eq!(km.steps.len(), 2);
    }

    #[test]
    fn censoring_at_an_event_time_counts_as_at_risk() {
        // 3 runs: a failure and a censoring at 5, a failure at 8. At 5 all 3 are at risk:
        // S = 2/3; at 8 one is left: S = 0.
        let km = KaplanMeier::estimate(&obs(&[(5.0, false), (5.0, true), (8.0, true)]));
        assert_eq!(km.steps[1].at_risk, 3);
        assert!((km.steps[1].survival - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!((km.steps[2].at_risk, km.steps[2].survival), (1, 0.0));
    }
}
