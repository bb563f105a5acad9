//! The discrete-event engine: a virtual clock and a deterministic event queue.
//!
//! Simulated time is a count of nanoseconds ([`Time`]); nothing reads the wall clock. Events
//! are popped in time order, and events scheduled for the same instant in the order they were
//! scheduled (a sequence number breaks ties), so a run is a pure function of its inputs and
//! its seed ([`rng::Streams`]).

pub mod rng;

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fmt;

/// A point in simulated time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Time(pub u64);

impl Time {
    pub const ZERO: Time = Time(0);
    pub const NANOS_PER_SEC: u64 = 1_000_000_000;

    pub fn from_secs(s: u64) -> Time {
        Time(s.saturating_mul(Self::NANOS_PER_SEC))
    }

    pub const fn from_millis(ms: u64) -> Time {
        Time(ms.saturating_mul(1_000_000))
    }

    pub fn as_nanos(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / Self::NANOS_PER_SEC as f64
    }

    /// `self + d`, saturating at the end of time.
    pub fn after(self, d: Time) -> Time {
        Time(self.0.saturating_add(d.0))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

/// An event scheduled before the current time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("event scheduled at {at}, before the current time {now}")]
pub struct InThePast {
    pub at: Time,
    pub now: Time,
}

#[derive(Clone)]
struct Entry<E> {
    time: Time,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        (self.time, self.seq) == (o.time, o.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.time, self.seq).cmp(&(o.time, o.seq))
    }
}

/// Events ordered by `(time, sequence)`, and the clock they advance.
#[derive(Clone)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    seq: u64,
    now: Time,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            seq: 0,
            now: Time::ZERO,
        }
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The time of the last event popped.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Schedules `event` at `at`, which must not be before [`EventQueue::now`].
    pub fn schedule_at(&mut self, at: Time, event: E) -> Result<(), InThePast> {
        if at < self.now {
            return Err(InThePast { at, now: self.now });
        }
        self.heap.push(Reverse(Entry {
            time: at,
            seq: self.seq,
            event,
        }));
        self.seq += 1;
        Ok(())
    }

    /// Schedules `event` `delay` after now.
    pub fn schedule_in(&mut self, delay: Time, event: E) {
        let at = self.now.after(delay);
        self.heap.push(Reverse(Entry {
            time: at,
            seq: self.seq,
            event,
        }));
        self.seq += 1;
    }

    /// The next event, advancing the clock to its time.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let Reverse(e) = self.heap.pop()?;
        self.now = e.time;
        Some((e.time, e.event))
    }

    /// The next event if it is due at or before `until`; otherwise the clock moves to `until`.
    pub fn pop_until(&mut self, until: Time) -> Option<(Time, E)> {
        if self.peek_time().is_some_and(|t| t <= until) {
            return self.pop();
        }
        self.now = self.now.max(until);
        None
    }

    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|Reverse(e)| e.time)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_pop_in_time_then_schedule_order() {
        let mut q = EventQueue::new();
        q.schedule_at(Time::from_secs(2), "b").unwrap();
        q.schedule_at(Time::from_secs(1), "a").unwrap();
        q.schedule_at(Time::from_secs(2), "c").unwrap();
        q.schedule_in(Time::from_millis(1500), "x");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["a", "x", "b", "c"]);
        assert_eq!(q.now(), Time::from_secs(2));
        let err = q.schedule_at(Time::from_secs(1), "late").unwrap_err();
        assert_eq!(
            err.to_string(),
            "event scheduled at 1.000s, before the current time 2.000s"
        );
    }

    #[test]
    fn pop_until_stops_at_the_horizon() {
        let mut q = EventQueue::new();
        q.schedule_at(Time(10), 1).unwrap();
        q.schedule_at(Time(30), 2).unwrap();
        assert_eq!(q.pop_until(Time(20)), Some((Time(10), 1)));
        assert_eq!(q.pop_until(Time(20)), None);
        assert_eq!((q.now(), q.len()), (Time(20), 1));
    }
}
