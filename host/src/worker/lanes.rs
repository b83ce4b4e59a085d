//! How many jobs this node runs at once: a total and a limit per kind, so a
//! slow kind (an SMTP relay that hangs) fills only its own lane and never
//! delays the others; free slots go to kinds by priority.

use std::collections::BTreeMap;

use crate::desk::{ClaimRequest, JobKind};

/// Jobs of unknown kinds (a newer node's) taken at once: they are only failed with the reason.
const UNKNOWN_AT_ONCE: usize = 2;

/// The running jobs of this node, by kind (`None`: an unknown kind).
#[derive(Debug)]
pub(super) struct Lanes {
    total: usize,
    limits: BTreeMap<JobKind, usize>,
    running: BTreeMap<Option<JobKind>, usize>,
}

impl Lanes {
    /// `total` jobs at once, each kind at most its limit (`overrides`, else
    /// [`JobKind::default_concurrency`]); every limit at least 1.
    pub(super) fn new(total: usize, overrides: &BTreeMap<JobKind, usize>) -> Lanes {
        let limits = JobKind::ALL.iter().map(|k| (*k, overrides.get(k).copied().unwrap_or(k.default_concurrency()).max(1))).collect();
        Lanes { total: total.max(1), limits, running: BTreeMap::new() }
    }

    fn running_total(&self) -> usize {
        self.running.values().sum()
    }

    /// True when at least one more job could start.
    #[cfg(test)]
    pub(super) fn has_room(&self) -> bool {
        self.running_total() < self.total
    }

    /// What to claim now: each kind's free slots, highest priority first,
    /// within the free total. A kind with jobs running is offered its slots
    /// only once half its lane is free, so a busy queue is claimed in batches
    /// rather than one commit per finished job.
    pub(super) fn request(&self) -> ClaimRequest {
        let mut free = self.total.saturating_sub(self.running_total());
        let mut kinds: Vec<JobKind> = JobKind::ALL.to_vec();
        kinds.sort_by_key(|k| std::cmp::Reverse(k.priority()));
        let mut request = ClaimRequest::default();
        for kind in kinds {
            let limit = self.limits[&kind];
            let running = self.running.get(&Some(kind)).copied().unwrap_or(0);
            let mut room = limit.saturating_sub(running).min(free);
            if running > 0 && room < limit.div_ceil(2) {
                room = 0;
            }
            free -= room;
            request.kinds.push((kind, room as i64));
        }
        request.unknown = UNKNOWN_AT_ONCE.saturating_sub(self.running.get(&None).copied().unwrap_or(0)).min(free) as i64;
        request
    }

    /// A job of `kind` started.
    pub(super) fn start(&mut self, kind: Option<JobKind>) {
        *self.running.entry(kind).or_default() += 1;
    }

    /// A job of `kind` ended.
    pub(super) fn end(&mut self, kind: Option<JobKind>) {
        if let Some(n) = self.running.get_mut(&kind) {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(request: &ClaimRequest, kind: JobKind) -> i64 {
        request.kinds.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n).unwrap_or(-1)
    }

    #[test]
    fn a_full_lane_leaves_the_others_their_room() {
        let kind = JobKind::PendingDue;
        let mut lanes = Lanes::new(10, &BTreeMap::from([(kind, 3)]));
        assert_eq!(room(&lanes.request(), kind), 3);
        (0..3).for_each(|_| lanes.start(Some(kind)));
        assert_eq!(room(&lanes.request(), kind), 0, "the kind's lane is full");
        assert!(lanes.has_room(), "the node still has room for other kinds");
        lanes.end(Some(kind));
        assert_eq!(room(&lanes.request(), kind), 0, "one free slot of three is claimed with the next");
        lanes.end(Some(kind));
        assert_eq!(room(&lanes.request(), kind), 2, "half the lane free: claimed as a batch");
        lanes.end(Some(kind));
        assert_eq!(room(&lanes.request(), kind), 3);
    }

    #[test]
    fn the_total_bounds_every_lane() {
        let kind = JobKind::PendingDue;
        let mut lanes = Lanes::new(2, &BTreeMap::from([(kind, 8)]));
        assert_eq!(room(&lanes.request(), kind), 2, "no more than the total");
        lanes.start(None);
        lanes.start(None);
        assert!(!lanes.has_room());
        assert_eq!((room(&lanes.request(), kind), lanes.request().unknown), (0, 0));
    }
}
