//! Admission of plugin calls: a host-wide limit on concurrent instances and on
//! the memory they may grow to, a per-plugin limit on concurrent calls, and
//! round-robin between the plugins that wait, so one plugin's flood never
//! starves another.
//!
//! A call reserves its plugin's whole memory limit before it starts (the
//! most its instance may grow to), so the sum of live instances' memory never
//! exceeds the budget. A caller that gets no slot within its deadline is
//! refused as busy, which counts against nobody's circuit breaker.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;

/// Host-wide bounds on plugin execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AdmissionLimits {
    /// Concurrent instances across all plugins (at most the pool's size).
    pub(crate) instances: usize,
    /// Concurrent calls of one plugin; the rest wait their turn.
    pub(crate) per_plugin: usize,
    /// Bytes of linear memory all live instances may reserve together.
    pub(crate) memory_bytes: u64,
}

/// Why a caller was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Nothing became free within the deadline.
    Busy { waited: Duration },
    /// The call alone needs more memory than the whole budget.
    TooLarge { memory: u64, budget: u64 },
}

/// A running call's share; dropping it frees the share for the next waiter.
pub(crate) struct Admitted {
    admission: Arc<Admission>,
    plugin: Arc<str>,
    memory: u64,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut state = self.admission.lock();
        state.free_instances += 1;
        state.free_memory += self.memory;
        if let Some(running) = state.running.get_mut(&self.plugin) {
            running.calls -= 1;
            running.memory -= self.memory;
            if running.calls == 0 {
                state.running.remove(&self.plugin);
            }
        }
        self.admission.dispatch(&mut state);
    }
}

struct Waiter {
    id: u64,
    memory: u64,
    grant: oneshot::Sender<()>,
}

/// What one plugin holds now.
#[derive(Default)]
struct Running {
    calls: usize,
    memory: u64,
}

struct State {
    free_instances: usize,
    free_memory: u64,
    running: HashMap<Arc<str>, Running>,
    /// Waiting callers per plugin, oldest first.
    waiting: BTreeMap<Arc<str>, VecDeque<Waiter>>,
    /// The plugin served last; the next grant goes to the one after it.
    last_served: Option<Arc<str>>,
    next_id: u64,
}

/// The admission controller (shared by every call of one host).
pub(crate) struct Admission {
    limits: AdmissionLimits,
    state: Mutex<State>,
}

impl Admission {
    pub(crate) fn new(limits: AdmissionLimits) -> Arc<Admission> {
        let limits = AdmissionLimits { instances: limits.instances.max(1), per_plugin: limits.per_plugin.max(1), ..limits };
        Arc::new(Admission {
            limits,
            state: Mutex::new(State {
                free_instances: limits.instances,
                free_memory: limits.memory_bytes,
                running: HashMap::new(),
                waiting: BTreeMap::new(),
                last_served: None,
                next_id: 0,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent under every panic point (plain counters),
        // so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The limits in force.
    pub(crate) fn limits(&self) -> AdmissionLimits {
        self.limits
    }

    /// Admits one call of `plugin` that may grow to `memory` bytes, waiting
    /// (in turn with other plugins' callers) at most `deadline`.
    pub(crate) async fn admit(self: &Arc<Self>, plugin: &Arc<str>, memory: u64, deadline: Duration) -> Result<Admitted, Refused> {
        if memory > self.limits.memory_bytes {
            return Err(Refused::TooLarge { memory, budget: self.limits.memory_bytes });
        }
        let (id, granted) = {
            let mut state = self.lock();
            // Nobody waits ahead of this caller: take a free share at once.
            if state.waiting.is_empty() && self.fits(&state, plugin, memory) {
                Self::take(&mut state, plugin, memory);
                return Ok(self.admitted(plugin, memory));
            }
            let (grant, granted) = oneshot::channel();
            let id = state.next_id;
            state.next_id += 1;
            state.waiting.entry(plugin.clone()).or_default().push_back(Waiter { id, memory, grant });
            self.dispatch(&mut state);
            (id, granted)
        };
        let started = std::time::Instant::now();
        let mut granted = granted;
        match tokio::time::timeout(deadline, &mut granted).await {
            Ok(Ok(())) => Ok(self.admitted(plugin, memory)),
            _ => {
                let mut state = self.lock();
                if Self::forget(&mut state, plugin, id) {
                    return Err(Refused::Busy { waited: started.elapsed() });
                }
                drop(state);
                // Granted just as the deadline passed: the share is ours.
                match granted.try_recv() {
                    Ok(()) => Ok(self.admitted(plugin, memory)),
                    Err(_) => Err(Refused::Busy { waited: started.elapsed() }),
                }
            }
        }
    }

    fn admitted(self: &Arc<Self>, plugin: &Arc<str>, memory: u64) -> Admitted {
        Admitted { admission: self.clone(), plugin: plugin.clone(), memory }
    }

    fn fits(&self, state: &State, plugin: &Arc<str>, memory: u64) -> bool {
        let held = state.running.get(plugin);
        let (calls, held_memory) = held.map_or((0, 0), |r| (r.calls, r.memory));
        // A plugin holds at most a quarter of the memory budget (or one call,
        // when one call needs more), so others always find room.
        let memory_share = calls == 0 || held_memory + memory <= self.limits.memory_bytes / 4;
        state.free_instances > 0 && state.free_memory >= memory && calls < self.limits.per_plugin && memory_share
    }

    fn take(state: &mut State, plugin: &Arc<str>, memory: u64) {
        state.free_instances -= 1;
        state.free_memory -= memory;
        let running = state.running.entry(plugin.clone()).or_default();
        running.calls += 1;
        running.memory += memory;
        state.last_served = Some(plugin.clone());
    }

    /// Removes a waiter that gave up; false when it was already granted.
    fn forget(state: &mut State, plugin: &Arc<str>, id: u64) -> bool {
        let Some(queue) = state.waiting.get_mut(plugin) else { return false };
        let Some(at) = queue.iter().position(|w| w.id == id) else { return false };
        queue.remove(at);
        if queue.is_empty() {
            state.waiting.remove(plugin);
        }
        true
    }

    /// Grants free shares to waiting callers, one plugin after another in
    /// name order starting after the last served (round-robin), each
    /// plugin's callers oldest first. A plugin at its own limit, or whose
    /// oldest caller needs more memory than is free, is passed over.
    fn dispatch(&self, state: &mut State) {
        loop {
            if state.free_instances == 0 || state.waiting.is_empty() {
                return;
            }
            let after: Vec<Arc<str>> = match &state.last_served {
                Some(last) => state
                    .waiting
                    .range::<str, _>((std::ops::Bound::Excluded(&**last), std::ops::Bound::Unbounded))
                    .map(|(k, _)| k.clone())
                    .chain(
                        state
                            .waiting
                            .range::<str, _>((std::ops::Bound::Unbounded, std::ops::Bound::Included(&**last)))
                            .map(|(k, _)| k.clone()),
                    )
                    .collect(),
                None => state.waiting.keys().cloned().collect(),
            };
            let Some(plugin) = after
                .into_iter()
                .find(|p| state.waiting.get(p).and_then(|q| q.front()).is_some_and(|head| self.fits(state, p, head.memory)))
            else {
                return;
            };
            let Some(queue) = state.waiting.get_mut(&plugin) else { return };
            let Some(waiter) = queue.pop_front() else { return };
            if queue.is_empty() {
                state.waiting.remove(&plugin);
            }
            // A waiter whose receiver is gone gave up: its share stays free.
            if waiter.grant.send(()).is_ok() {
                Self::take(state, &plugin, waiter.memory);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn name(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[tokio::test]
    async fn a_plugin_at_its_limit_waits_while_others_run() {
        let admission = Admission::new(AdmissionLimits { instances: 4, per_plugin: 2, memory_bytes: 1024 * MIB });
        let (hog, victim) = (name("hog"), name("victim"));
        let _a = admission.admit(&hog, MIB, Duration::from_secs(1)).await.expect("first");
        let _b = admission.admit(&hog, MIB, Duration::from_secs(1)).await.expect("second");
        let third = admission.admit(&hog, MIB, Duration::from_millis(50)).await;
        assert!(matches!(third, Err(Refused::Busy { .. })), "the hog is at its own limit");
        admission.admit(&victim, MIB, Duration::from_millis(50)).await.expect("another plugin still gets a slot");
    }

    #[tokio::test]
    async fn waiters_are_served_round_robin_between_plugins() {
        let admission = Admission::new(AdmissionLimits { instances: 1, per_plugin: 8, memory_bytes: 1024 * MIB });
        let (hog, victim) = (name("hog"), name("victim"));
        let running = admission.admit(&hog, MIB, Duration::from_secs(1)).await.expect("first");
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, plugin) in [&hog, &hog, &hog, &victim].into_iter().enumerate() {
            let (admission, plugin, order) = (admission.clone(), plugin.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let share = admission.admit(&plugin, MIB, Duration::from_secs(5)).await.expect("admitted");
                order.lock().expect("order").push(plugin.to_string());
                tokio::time::sleep(Duration::from_millis(5)).await;
                drop(share);
            }));
            // Queue them in a known order.
            tokio::time::sleep(Duration::from_millis(5 + i as u64)).await;
        }
        drop(running);
        for task in tasks {
            task.await.expect("task");
        }
        let order = order.lock().expect("order").clone();
        assert_eq!(order.iter().position(|p| p == "victim"), Some(0), "the victim queued last but is served next: {order:?}");
    }

    #[tokio::test]
    async fn the_memory_budget_bounds_live_instances() {
        let admission = Admission::new(AdmissionLimits { instances: 64, per_plugin: 64, memory_bytes: 256 * MIB });
        let (big, other) = (name("big"), name("other"));
        let a = admission.admit(&big, 128 * MIB, Duration::from_secs(1)).await.expect("fits");
        assert!(
            matches!(admission.admit(&big, 32 * MIB, Duration::from_millis(30)).await, Err(Refused::Busy { .. })),
            "one plugin holds at most a quarter of the budget (or one call)"
        );
        let _b = admission.admit(&other, 64 * MIB, Duration::from_secs(1)).await.expect("fits");
        let _c = admission.admit(&name("third"), 64 * MIB, Duration::from_secs(1)).await.expect("fits");
        assert!(matches!(admission.admit(&name("fourth"), 64 * MIB, Duration::from_millis(30)).await, Err(Refused::Busy { .. })));
        drop(a);
        admission.admit(&name("fourth"), 64 * MIB, Duration::from_millis(30)).await.expect("freed memory is reused");
        assert_eq!(
            admission.admit(&big, 512 * MIB, Duration::from_millis(30)).await.err(),
            Some(Refused::TooLarge { memory: 512 * MIB, budget: 256 * MIB })
        );
    }

    #[tokio::test]
    async fn a_caller_that_gave_up_leaves_its_share_free() {
        let admission = Admission::new(AdmissionLimits { instances: 1, per_plugin: 1, memory_bytes: 64 * MIB });
        let p = name("p");
        let running = admission.admit(&p, MIB, Duration::from_secs(1)).await.expect("first");
        assert!(admission.admit(&p, MIB, Duration::from_millis(20)).await.is_err());
        drop(running);
        let state = admission.lock();
        assert_eq!((state.free_instances, state.free_memory, state.waiting.len()), (1, 64 * MIB, 0));
    }
}
