//! How many jobs this node runs at once: a total and a limit per kind, so a
//! slow kind (an SMTP relay that hangs) fills only its own lane and never
//! delays the others; free slots go to kinds by priority.
//!
//! Jobs are claimed ahead of their turn: each kind holds up to
//! [`CLAIM_AHEAD`] lanes' worth of claimed jobs, and claims again only when
//! its backlog has run down to half a lane. A busy queue is then claimed in
//! batches of several lanes per commit instead of one commit per few jobs,
//! and a job that ends makes room for the next without a statement.

use std::collections::{BTreeMap, VecDeque};

use crate::desk::{ClaimRequest, Job, JobKind};

/// Jobs of unknown kinds (a newer node's) taken at once: they are only failed with the reason.
const UNKNOWN_AT_ONCE: usize = 2;

/// Claimed jobs a kind holds at most, running and waiting, in lanes: 4.
const CLAIM_AHEAD: usize = 4;

/// The running and waiting jobs of this node, by kind (`None`: an unknown kind).
#[derive(Debug)]
pub(super) struct Lanes {
    total: usize,
    limits: BTreeMap<JobKind, usize>,
    running: BTreeMap<Option<JobKind>, usize>,
    waiting: BTreeMap<Option<JobKind>, VecDeque<Job>>,
}

impl Lanes {
    /// `total` jobs at once, each kind at most its limit (`overrides`, else
    /// [`JobKind::default_concurrency`]); every limit at least 1.
    pub(super) fn new(total: usize, overrides: &BTreeMap<JobKind, usize>) -> Lanes {
        let limits = JobKind::ALL.iter().map(|k| (*k, overrides.get(k).copied().unwrap_or(k.default_concurrency()).max(1))).collect();
        Lanes { total: total.max(1), limits, running: BTreeMap::new(), waiting: BTreeMap::new() }
    }

    fn running_total(&self) -> usize {
        self.running.values().sum()
    }

    fn running_of(&self, kind: Option<JobKind>) -> usize {
        self.running.get(&kind).copied().unwrap_or(0)
    }

    fn waiting_of(&self, kind: Option<JobKind>) -> usize {
        self.waiting.get(&kind).map_or(0, VecDeque::len)
    }

    fn limit_of(&self, kind: Option<JobKind>) -> usize {
        kind.map_or(UNKNOWN_AT_ONCE, |k| self.limits[&k])
    }

    /// Kinds in start and claim order: highest priority first, unknown kinds last.
    fn by_priority() -> impl Iterator<Item = Option<JobKind>> {
        let mut kinds: Vec<JobKind> = JobKind::ALL.to_vec();
        kinds.sort_by_key(|k| std::cmp::Reverse(k.priority()));
        kinds.into_iter().map(Some).chain([None])
    }

    /// True when at least one more job could start.
    #[cfg(test)]
    pub(super) fn has_room(&self) -> bool {
        self.running_total() < self.total
    }

    /// What to claim now: for each kind whose backlog has run down to half a
    /// lane, enough to hold [`CLAIM_AHEAD`] lanes again; unknown kinds only
    /// as they can start, and only with a claim for known kinds.
    pub(super) fn request(&self) -> ClaimRequest {
        let mut request = ClaimRequest::default();
        for kind in Self::by_priority() {
            let limit = self.limit_of(kind);
            let held = self.running_of(kind) + self.waiting_of(kind);
            let room = match kind {
                None => limit.saturating_sub(held),
                Some(_) if self.waiting_of(kind) > limit / 2 => 0,
                Some(_) => (limit * CLAIM_AHEAD).saturating_sub(held),
            };
            match kind {
                Some(kind) => request.kinds.push((kind, room as i64)),
                None => request.unknown = room as i64,
            }
        }
        // Unknown kinds ride along with a claim for known ones (an idle node
        // claims every poll): alone they would cost a write whenever a job ends.
        if request.kinds.iter().all(|(_, n)| *n <= 0) {
            request.unknown = 0;
        }
        request
    }

    /// Takes a claimed job into the backlog of its kind.
    pub(super) fn claimed(&mut self, job: Job) {
        let kind = job.task.as_ref().ok().map(|t| t.kind());
        self.waiting.entry(kind).or_default().push_back(job);
    }

    /// The next waiting job that may start now (its lane and the total have
    /// room), highest priority first, oldest claim first; counted as running.
    pub(super) fn next_to_start(&mut self) -> Option<Job> {
        if self.running_total() >= self.total {
            return None;
        }
        let kind = Self::by_priority().find(|&k| self.waiting_of(k) > 0 && self.running_of(k) < self.limit_of(k))?;
        let job = self.waiting.get_mut(&kind)?.pop_front()?;
        *self.running.entry(kind).or_default() += 1;
        Some(job)
    }

    /// Every job still waiting (at shutdown, to hand back to the queue).
    pub(super) fn drain_waiting(&mut self) -> Vec<Job> {
        std::mem::take(&mut self.waiting).into_values().flatten().collect()
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
    use crate::desk::{JobStatus, JobTask};

    fn room(request: &ClaimRequest, kind: JobKind) -> i64 {
        request.kinds.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n).unwrap_or(-1)
    }

    fn job(id: i64) -> Job {
        let now = chrono::Utc::now();
        Job {
            id,
            kind: JobKind::PendingDue.as_str().to_string(),
            payload: String::new(),
            task: Ok(JobTask::PendingDue { ticket_id: id, pending_until: 0 }),
            status: JobStatus::Running,
            attempts: 1,
            max_attempts: 5,
            run_at: now,
            last_error: None,
            worker: Some("test".into()),
            dedup_key: None,
            started_at: Some(now),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_kind_claims_ahead_and_again_only_when_its_backlog_runs_low() {
        let kind = JobKind::PendingDue;
        let mut lanes = Lanes::new(10, &BTreeMap::from([(kind, 2)]));
        assert_eq!(room(&lanes.request(), kind), 8, "four lanes' worth");
        (0..8).for_each(|i| lanes.claimed(job(i)));
        assert_eq!(room(&lanes.request(), kind), 0, "the backlog is full");
        let started: Vec<i64> = std::iter::from_fn(|| lanes.next_to_start()).map(|j| j.id).collect();
        assert_eq!(started, vec![0, 1], "only the lane's two start, oldest first");
        assert_eq!(room(&lanes.request(), kind), 0, "six still wait");
        for _ in 0..2 {
            lanes.end(Some(kind));
            assert!(lanes.next_to_start().is_some());
        }
        lanes.end(Some(kind));
        lanes.end(Some(kind));
        let more: Vec<i64> = std::iter::from_fn(|| lanes.next_to_start()).map(|j| j.id).collect();
        assert_eq!(more, vec![4, 5]);
        assert_eq!(room(&lanes.request(), kind), 0, "two wait: more than half a lane");
        lanes.end(Some(kind));
        assert_eq!(lanes.next_to_start().map(|j| j.id), Some(6));
        assert_eq!(room(&lanes.request(), kind), 5, "half a lane waits: claim back up to four lanes (two run, one waits)");
        assert_eq!(lanes.drain_waiting().iter().map(|j| j.id).collect::<Vec<_>>(), vec![7]);
    }

    #[test]
    fn the_total_bounds_what_starts() {
        let kind = JobKind::PendingDue;
        let mut lanes = Lanes::new(2, &BTreeMap::from([(kind, 8)]));
        (0..5).for_each(|i| lanes.claimed(job(i)));
        assert_eq!(std::iter::from_fn(|| lanes.next_to_start()).count(), 2, "no more than the total run");
        assert!(!lanes.has_room());
        lanes.end(Some(kind));
        assert!(lanes.has_room());
        assert_eq!(lanes.next_to_start().map(|j| j.id), Some(2));
    }

    #[test]
    fn unknown_kinds_are_claimed_only_as_they_can_start_and_with_known_ones() {
        let kind = JobKind::PendingDue;
        let mut lanes = Lanes::new(10, &BTreeMap::from([(kind, 1)]));
        assert_eq!(lanes.request().unknown, 2);
        let mut unknown = job(1);
        unknown.task = Err("unknown kind 'x'".into());
        lanes.claimed(unknown);
        assert_eq!(lanes.request().unknown, 1);
        (2..6).for_each(|i| lanes.claimed(job(i)));
        assert!(lanes.request().is_empty(), "no claim for unknown kinds alone");
    }
}
