//! The decision: which rule, if any, hits a request. Counters are atomics so concurrent
//! requests each get a distinct call number and a `times` limit is never overshot.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use dukcapil_mock_api::{Endpoint, FaultAction, FaultRule, RuleError};
pub(crate) use dukcapil_mock_api::{FaultView, RuleListError};

/// What the fault layer knows of a request before the gateway handles it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestMeta {
    pub endpoint: Endpoint,
    /// Customer id of the path, or of the data-balikan bearer token's owner.
    pub institution: Option<String>,
    /// The operator field's value as sent.
    pub operator: Option<String>,
    /// NIKs as sent (one for a lookup; a data-balikan batch may carry several).
    pub niks: Vec<String>,
}

impl RequestMeta {
    pub(crate) fn new(endpoint: Endpoint) -> Self {
        RequestMeta {
            endpoint,
            institution: None,
            operator: None,
            niks: Vec::new(),
        }
    }
}

/// Whether a rule is one institution's: it names that institution (customer ids compare
/// without case, as the gateway's paths carry them).
pub(crate) fn belongs_to(rule: &FaultRule, customer_id: &str) -> bool {
    rule.institution
        .as_deref()
        .is_some_and(|i| i.eq_ignore_ascii_case(customer_id))
}

/// Whether the rule's filters (not its counters) accept the request.
fn matches(rule: &FaultRule, meta: &RequestMeta) -> bool {
    if !rule.endpoint.matches(meta.endpoint) {
        return false;
    }
    if let Some(want) = &rule.institution {
        // Customer ids reach the gateway in whatever case the client's URL has.
        if !meta
            .institution
            .as_deref()
            .is_some_and(|got| got.eq_ignore_ascii_case(want))
        {
            return false;
        }
    }
    if let Some(want) = &rule.operator {
        if meta.operator.as_deref() != Some(want.as_str()) {
            return false;
        }
    }
    if let Some(want) = &rule.nik {
        if !meta.niks.iter().any(|n| n == want) {
            return false;
        }
    }
    true
}

/// How much of the real answer a truncate fault keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    Bytes(usize),
    Percent(u8),
}

/// The concrete action for one request (a delay range already drawn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppliedAction {
    Delay(Duration),
    Status(u16),
    Close,
    Truncate(Keep),
    Trickle { chunk_bytes: usize, pause: Duration },
}

/// A fault applied to one request. Travels in the request and response extensions so the
/// journal can record it; `Display` is the journal's text (`rule 3: status 502`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AppliedFault {
    pub rule_id: u64,
    /// Which of the rule's matching calls this was (1-based).
    pub call: u64,
    pub action: AppliedAction,
}

impl AppliedFault {
    /// Short name of the action: `delay`, `status_502`, `close`, `truncate`, `trickle`.
    #[cfg(test)]
    pub(crate) fn kind(&self) -> String {
        match self.action {
            AppliedAction::Delay(_) => "delay".into(),
            AppliedAction::Status(code) => format!("status_{code}"),
            AppliedAction::Close => "close".into(),
            AppliedAction::Truncate(_) => "truncate".into(),
            AppliedAction::Trickle { .. } => "trickle".into(),
        }
    }
}

impl fmt::Display for AppliedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}: ", self.rule_id)?;
        match self.action {
            AppliedAction::Delay(d) => write!(f, "delay {}ms", d.as_millis()),
            AppliedAction::Status(code) => write!(f, "status {code}"),
            AppliedAction::Close => write!(f, "close"),
            AppliedAction::Truncate(Keep::Bytes(n)) => write!(f, "truncate to {n} bytes"),
            AppliedAction::Truncate(Keep::Percent(p)) => write!(f, "truncate to {p}%"),
            AppliedAction::Trickle { chunk_bytes, pause } => {
                write!(
                    f,
                    "trickle {chunk_bytes} bytes every {}ms",
                    pause.as_millis()
                )
            }
        }
    }
}

#[derive(Debug)]
struct Slot {
    id: u64,
    rule: FaultRule,
    matched: AtomicU64,
    applied: AtomicU64,
}

impl Slot {
    fn retired(&self) -> bool {
        self.rule
            .times
            .is_some_and(|t| self.applied.load(Ordering::Acquire) >= t)
    }

    /// Takes one application from the `times` budget; false once it is spent.
    fn reserve(&self) -> bool {
        match self.rule.times {
            None => {
                self.applied.fetch_add(1, Ordering::AcqRel);
                true
            }
            Some(t) => self
                .applied
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |a| {
                    (a < t).then_some(a + 1)
                })
                .is_ok(),
        }
    }
}

#[derive(Debug)]
struct Inner {
    seed: u64,
    next_id: AtomicU64,
    /// Copy-on-write: a request clones the `Arc` and never holds the lock while deciding.
    rules: RwLock<Arc<Vec<Arc<Slot>>>>,
    /// Fast path: no rules, nothing to do (the usual case under load).
    any: AtomicBool,
    needs_body: AtomicBool,
}

/// Thread-safe set of fault rules with their counters. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub(crate) struct FaultEngine {
    inner: Arc<Inner>,
}

impl Default for FaultEngine {
    fn default() -> Self {
        FaultEngine::new(0)
    }
}

impl FaultEngine {
    /// An empty engine; `seed` drives probability and delay-range draws of rules without a seed.
    pub(crate) fn new(seed: u64) -> Self {
        FaultEngine {
            inner: Arc::new(Inner {
                seed,
                next_id: AtomicU64::new(1),
                rules: RwLock::new(Arc::new(Vec::new())),
                any: AtomicBool::new(false),
                needs_body: AtomicBool::new(false),
            }),
        }
    }

    /// An engine holding `rules` (ids 1, 2, … in order), all validated first.
    pub(crate) fn with_rules(seed: u64, rules: Vec<FaultRule>) -> Result<Self, RuleListError> {
        for (index, rule) in rules.iter().enumerate() {
            rule.validate()
                .map_err(|error| RuleListError { index, error })?;
        }
        let engine = FaultEngine::new(seed);
        for rule in rules {
            engine.insert(rule);
        }
        Ok(engine)
    }

    /// Validates and adds a rule after the existing ones; returns its id.
    pub(crate) fn add(&self, rule: FaultRule) -> Result<u64, RuleError> {
        rule.validate()?;
        Ok(self.insert(rule))
    }

    fn insert(&self, rule: FaultRule) -> u64 {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            id,
            rule,
            matched: AtomicU64::new(0),
            applied: AtomicU64::new(0),
        });
        self.update(|rules| rules.push(slot));
        id
    }

    /// Removes one rule; false if no rule has that id.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let mut found = false;
        self.update(|rules| {
            let before = rules.len();
            rules.retain(|s| s.id != id);
            found = rules.len() != before;
        });
        found
    }

    /// Removes every rule; returns how many there were. Ids keep counting up.
    pub(crate) fn clear(&self) -> usize {
        let mut n = 0;
        self.update(|rules| {
            n = rules.len();
            rules.clear();
        });
        n
    }

    /// Slots with new ids and zero counters for `rules`.
    fn fresh_slots<'r>(&self, rules: impl Iterator<Item = &'r FaultRule>) -> Vec<Arc<Slot>> {
        rules
            .map(|rule| {
                Arc::new(Slot {
                    id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
                    rule: rule.clone(),
                    matched: AtomicU64::new(0),
                    applied: AtomicU64::new(0),
                })
            })
            .collect()
    }

    /// Replaces every rule by `rules` (validated ones only; the settings' rules were validated at
    /// start) with fresh counters, in one step: the admin reset's "as configured". Returns how
    /// many rules were dropped.
    pub(crate) fn reset_to(&self, rules: &[FaultRule]) -> usize {
        let fresh = self.fresh_slots(rules.iter().filter(|r| r.validate().is_ok()));
        let mut n = 0;
        self.update(|current| {
            n = current.len();
            *current = fresh;
        });
        n
    }

    /// One institution's rules (those naming it) replaced by the ones of `rules` that name it,
    /// with fresh counters, appended after the others: its scoped reset. Rules without an
    /// institution and other institutions' rules keep their counters. Returns how many rules
    /// were dropped.
    pub(crate) fn reset_institution_to(&self, customer_id: &str, rules: &[FaultRule]) -> usize {
        let fresh = self.fresh_slots(
            rules
                .iter()
                .filter(|r| belongs_to(r, customer_id) && r.validate().is_ok()),
        );
        let mut n = 0;
        self.update(|current| {
            let before = current.len();
            current.retain(|s| !belongs_to(&s.rule, customer_id));
            n = before - current.len();
            current.extend(fresh);
        });
        n
    }

    /// Removes the rules naming `customer_id`; returns how many there were.
    pub(crate) fn clear_institution(&self, customer_id: &str) -> usize {
        let mut n = 0;
        self.update(|rules| {
            let before = rules.len();
            rules.retain(|s| !belongs_to(&s.rule, customer_id));
            n = before - rules.len();
        });
        n
    }

    fn update(&self, change: impl FnOnce(&mut Vec<Arc<Slot>>)) {
        // A poisoned lock only means a panic elsewhere mid-update of a Vec of Arcs; the data
        // is still a valid list.
        let mut guard = self.inner.rules.write().unwrap_or_else(|p| p.into_inner());
        let mut rules: Vec<Arc<Slot>> = guard.as_ref().clone();
        change(&mut rules);
        self.inner.any.store(!rules.is_empty(), Ordering::Release);
        self.inner
            .needs_body
            .store(rules.iter().any(|s| s.rule.needs_body()), Ordering::Release);
        *guard = Arc::new(rules);
    }

    fn snapshot(&self) -> Arc<Vec<Arc<Slot>>> {
        self.inner
            .rules
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The rules in evaluation order with their counters.
    pub(crate) fn list(&self) -> Vec<FaultView> {
        self.snapshot()
            .iter()
            .map(|s| FaultView {
                id: s.id,
                rule: s.rule.clone(),
                matched: s.matched.load(Ordering::Acquire),
                applied: s.applied.load(Ordering::Acquire),
                retired: s.retired(),
            })
            .collect()
    }

    /// One rule by id.
    pub(crate) fn get(&self, id: u64) -> Option<FaultView> {
        self.list().into_iter().find(|v| v.id == id)
    }

    /// True when there are no rules (the layer then passes requests straight through).
    pub(crate) fn is_empty(&self) -> bool {
        !self.inner.any.load(Ordering::Acquire)
    }

    /// True when some rule filters on operator or NIK, so the layer must read the body.
    pub(crate) fn needs_body(&self) -> bool {
        self.inner.needs_body.load(Ordering::Acquire)
    }

    /// Decides the fault for one request. Rules are tried in order; every rule whose filters
    /// accept the request counts it (so "the 5th call" means the 5th matching call whatever
    /// other rules did), and the first rule whose nth, probability and `times` budget all
    /// agree is applied. At most one fault per request.
    pub(crate) fn decide(&self, meta: &RequestMeta) -> Option<AppliedFault> {
        if self.is_empty() {
            return None;
        }
        let rules = self.snapshot();
        let mut chosen = None;
        for slot in rules.iter() {
            if slot.retired() || !matches(&slot.rule, meta) {
                continue;
            }
            let call = slot.matched.fetch_add(1, Ordering::AcqRel) + 1;
            if chosen.is_some() {
                continue;
            }
            if slot.rule.nth.is_some_and(|nth| !nth.hits(call)) {
                continue;
            }
            let mut rng = self.rng(slot, call);
            if let Some(p) = slot.rule.probability {
                // gen::<f64>() is in [0, 1): probability 0 never hits, 1 always does.
                if rng.gen::<f64>() >= p {
                    continue;
                }
            }
            if !slot.reserve() {
                continue;
            }
            chosen = Some(AppliedFault {
                rule_id: slot.id,
                call,
                action: resolve(&slot.rule.action, &mut rng),
            });
        }
        chosen
    }

    /// The draws for call `call` of a rule depend only on (seed, rule, call), never on how
    /// concurrent requests interleave, so a seeded session replays exactly.
    fn rng(&self, slot: &Slot, call: u64) -> ChaCha8Rng {
        let (seed, stream) = match slot.rule.seed {
            Some(seed) => (seed, 0),
            None => (self.inner.seed, slot.id),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        // Each call owns a window of 16 32-bit words, more than any decision draws.
        rng.set_word_pos(u128::from(call) * 16);
        rng
    }
}

fn resolve(action: &FaultAction, rng: &mut ChaCha8Rng) -> AppliedAction {
    match *action {
        FaultAction::Delay { ms, min_ms, max_ms } => {
            let ms = match (ms, min_ms, max_ms) {
                (Some(ms), _, _) => ms,
                (None, Some(lo), Some(hi)) if lo <= hi => rng.gen_range(lo..=hi),
                // validate() rules the rest out; a zero delay is the harmless reading.
                _ => 0,
            };
            AppliedAction::Delay(Duration::from_millis(ms))
        }
        FaultAction::Status { code } => AppliedAction::Status(code),
        FaultAction::Close => AppliedAction::Close,
        FaultAction::Truncate {
            keep_bytes,
            keep_percent,
        } => AppliedAction::Truncate(match (keep_bytes, keep_percent) {
            (Some(n), _) => Keep::Bytes(n),
            (None, Some(p)) => Keep::Percent(p),
            (None, None) => Keep::Percent(50),
        }),
        FaultAction::Trickle {
            chunk_bytes,
            pause_ms,
        } => AppliedAction::Trickle {
            chunk_bytes,
            pause: Duration::from_millis(pause_ms),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dukcapil_mock_api::{EndpointFilter, Nth};
    use proptest::prelude::*;

    fn meta(endpoint: Endpoint, inst: &str, op: Option<&str>, nik: &str) -> RequestMeta {
        RequestMeta {
            endpoint,
            institution: Some(inst.into()),
            operator: op.map(Into::into),
            niks: vec![nik.into()],
        }
    }

    fn lookup() -> RequestMeta {
        meta(
            Endpoint::CallNik,
            "rsud_3313",
            Some("op1"),
            "3313014107890003",
        )
    }

    fn status(code: u16) -> FaultRule {
        FaultRule::new(FaultAction::Status { code })
    }

    #[test]
    fn empty_engine_decides_nothing() {
        let engine = FaultEngine::new(1);
        assert!(engine.is_empty());
        assert_eq!(engine.decide(&lookup()), None);
    }

    #[test]
    fn filters_must_all_match() {
        let engine = FaultEngine::new(1);
        let rule = FaultRule {
            endpoint: EndpointFilter::CallNik,
            institution: Some("RSUD_3313".into()),
            operator: Some("op1".into()),
            nik: Some("3313014107890003".into()),
            ..status(503)
        };
        engine.add(rule).unwrap();
        assert!(engine.needs_body());
        assert!(
            engine.decide(&lookup()).is_some(),
            "institution compares without case"
        );
        assert!(engine
            .decide(&meta(
                Endpoint::Verify,
                "rsud_3313",
                Some("op1"),
                "3313014107890003"
            ))
            .is_none());
        assert!(engine
            .decide(&meta(
                Endpoint::CallNik,
                "dinkes_3313",
                Some("op1"),
                "3313014107890003"
            ))
            .is_none());
        assert!(engine
            .decide(&meta(
                Endpoint::CallNik,
                "rsud_3313",
                Some("OP1"),
                "3313014107890003"
            ))
            .is_none());
        assert!(engine
            .decide(&meta(
                Endpoint::CallNik,
                "rsud_3313",
                None,
                "3313014107890003"
            ))
            .is_none());
        assert!(engine
            .decide(&meta(
                Endpoint::CallNik,
                "rsud_3313",
                Some("op1"),
                "3313014107890004"
            ))
            .is_none());
        let v = engine.get(1).unwrap();
        assert_eq!((v.matched, v.applied), (1, 1));
    }

    #[test]
    fn nth_times_and_retirement() {
        let engine = FaultEngine::new(1);
        let id = engine
            .add(FaultRule {
                nth: Some(Nth::Every(3)),
                times: Some(2),
                ..status(502)
            })
            .unwrap();
        let hits: Vec<bool> = (0..12)
            .map(|_| engine.decide(&lookup()).is_some())
            .collect();
        // Calls 3 and 6 hit; then the rule retires and stops counting.
        let expect = [
            false, false, true, false, false, true, false, false, false, false, false, false,
        ];
        assert_eq!(hits, expect);
        let v = engine.get(id).unwrap();
        assert_eq!((v.matched, v.applied, v.retired), (6, 2, true));
    }

    #[test]
    fn at_hits_once() {
        let engine = FaultEngine::new(1);
        engine
            .add(FaultRule {
                nth: Some(Nth::At(5)),
                ..FaultRule::new(FaultAction::Close)
            })
            .unwrap();
        let hits: Vec<u64> = (1..=20)
            .filter(|_| engine.decide(&lookup()).is_some())
            .collect();
        assert_eq!(hits.len(), 1);
    }

    #[test]
    fn first_applicable_rule_wins_and_later_rules_still_count() {
        let engine = FaultEngine::new(1);
        let a = engine
            .add(FaultRule {
                times: Some(1),
                ..status(500)
            })
            .unwrap();
        let b = engine
            .add(FaultRule {
                nth: Some(Nth::At(2)),
                ..status(504)
            })
            .unwrap();
        let first = engine.decide(&lookup()).unwrap();
        assert_eq!(
            (first.rule_id, first.action),
            (a, AppliedAction::Status(500))
        );
        let second = engine.decide(&lookup()).unwrap();
        assert_eq!(
            (second.rule_id, second.call, second.action),
            (b, 2, AppliedAction::Status(504))
        );
        assert_eq!(engine.decide(&lookup()), None);
    }

    #[test]
    fn remove_and_clear() {
        let engine = FaultEngine::new(1);
        let a = engine.add(status(500)).unwrap();
        let b = engine.add(status(502)).unwrap();
        assert!(engine.remove(a));
        assert!(!engine.remove(a));
        assert_eq!(engine.decide(&lookup()).unwrap().rule_id, b);
        assert_eq!(engine.clear(), 1);
        assert!(engine.is_empty());
        assert!(engine.add(status(503)).unwrap() > b, "ids are never reused");
    }

    #[test]
    fn with_rules_reports_the_index() {
        let err = FaultEngine::with_rules(0, vec![status(500), status(418)]).unwrap_err();
        assert_eq!(err.index, 1);
        assert_eq!(
            err.to_string(),
            "faults[1].action.code: must be one of 500, 502, 503, 504"
        );
    }

    #[test]
    fn probability_is_reproducible_and_roughly_right() {
        let run = |seed: u64| {
            let engine = FaultEngine::new(seed);
            engine
                .add(FaultRule {
                    probability: Some(0.3),
                    ..status(503)
                })
                .unwrap();
            (0..2000)
                .map(|_| engine.decide(&lookup()).is_some())
                .collect::<Vec<_>>()
        };
        let a = run(42);
        assert_eq!(a, run(42), "same seed, same decisions");
        assert_ne!(a, run(43));
        let hits = a.iter().filter(|h| **h).count();
        assert!((450..750).contains(&hits), "{hits} hits of 2000 at p=0.3");
        let never = FaultEngine::new(1);
        never
            .add(FaultRule {
                probability: Some(0.0),
                ..status(503)
            })
            .unwrap();
        assert!((0..500).all(|_| never.decide(&lookup()).is_none()));
    }

    #[test]
    fn delay_range_draws_within_bounds_reproducibly() {
        let draw = || {
            let engine = FaultEngine::new(9);
            let action = FaultAction::Delay {
                ms: None,
                min_ms: Some(10),
                max_ms: Some(20),
            };
            engine.add(FaultRule::new(action)).unwrap();
            (0..200)
                .map(|_| match engine.decide(&lookup()).unwrap().action {
                    AppliedAction::Delay(d) => d.as_millis(),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>()
        };
        let ms = draw();
        assert!(ms.iter().all(|m| (10..=20).contains(m)));
        assert!(ms.iter().any(|m| *m != ms[0]), "a range varies");
        assert_eq!(ms, draw());
    }

    #[test]
    fn display_is_the_journal_text() {
        let f = AppliedFault {
            rule_id: 3,
            call: 1,
            action: AppliedAction::Status(502),
        };
        assert_eq!(f.to_string(), "rule 3: status 502");
        assert_eq!(f.kind(), "status_502");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// However threads interleave, every matching call gets a distinct number and the
        /// applications are exactly what the counters allow.
        #[test]
        fn counters_are_exact_under_concurrency(
            threads in 1usize..6,
            per_thread in 1usize..60,
            every in 1u64..7,
            times in proptest::option::of(1u64..20),
        ) {
            let engine = FaultEngine::new(5);
            let id = engine.add(FaultRule { nth: Some(Nth::Every(every)), times, ..status(500) }).unwrap();
            let results: Vec<Vec<AppliedFault>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|_| s.spawn(|| (0..per_thread).filter_map(|_| engine.decide(&lookup())).collect()))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let applied: Vec<AppliedFault> = results.into_iter().flatten().collect();
            let total = (threads * per_thread) as u64;
            let view = engine.get(id).unwrap();
            let eligible = match times {
                // Without a limit the rule never retires: it sees every call.
                None => total / every,
                // Once retired it stops counting, so only the calls up to retirement count;
                // the number of applications is still exact.
                Some(t) => (total / every).min(t),
            };
            prop_assert_eq!(applied.len() as u64, eligible);
            prop_assert_eq!(view.applied, eligible);
            let mut calls: Vec<u64> = applied.iter().map(|f| f.call).collect();
            calls.sort_unstable();
            calls.dedup();
            prop_assert_eq!(calls.len(), applied.len(), "call numbers are distinct");
            prop_assert!(calls.iter().all(|c| c % every == 0));
            if times.is_none() {
                prop_assert_eq!(view.matched, total);
            } else {
                prop_assert!(view.matched <= total);
            }
        }
    }
}
