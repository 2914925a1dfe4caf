//! Seeded replay plans (`runners/reference/plan.py`, design §3.2).

use super::checks;
use super::error::{fail, CoreResult, ErrorCode};

pub const SEED_LIMIT: i128 = i64::MAX as i128;
pub const SEED_STRIDE_CANDIDATE: i128 = 100_000;
pub const SEED_STRIDE_SESSION: i128 = 1_000;

pub fn check_id(id: &[u8]) -> CoreResult<&[u8]> {
    checks::non_empty_str(id, "candidate_ids")
}

pub fn check_sessions(sessions: i128) -> CoreResult<u32> {
    Ok(checks::int_in(sessions, "sessions", 1, Some(99))? as u32)
}

pub fn check_runs(runs: i128) -> CoreResult<u32> {
    Ok(checks::int_in(runs, "runs", 1, Some(999))? as u32)
}

pub fn check_base_seed(base_seed: i128) -> CoreResult<i128> {
    checks::int_in(base_seed, "base_seed", 0, None)
}

/// Every seed must stay <= 2**63 - 1 (never wrap around): checks the plan's last seed.
pub fn check_last_seed(n_ids: usize, sessions: u32, runs: u32, base_seed: i128) -> CoreResult<i64> {
    let last = (n_ids as i128 - 1)
        .saturating_mul(SEED_STRIDE_CANDIDATE)
        .saturating_add((i128::from(sessions) - 1) * SEED_STRIDE_SESSION)
        .saturating_add(i128::from(runs) - 1)
        .saturating_add(base_seed);
    if last > SEED_LIMIT {
        return fail(
            ErrorCode::Overflow,
            "base_seed",
            format!("the plan's last seed {last} exceeds 2**63-1"),
        );
    }
    Ok(base_seed as i64)
}

/// A validated plan; entries are computed on demand, in (candidate, session, run) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub n_ids: usize,
    pub sessions: u32,
    pub runs: u32,
    pub base_seed: i64,
}

/// One entry of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub candidate: usize,
    pub session: u32,
    pub run: u32,
    pub seed: i64,
}

impl Plan {
    pub fn len(&self) -> usize {
        self.n_ids * self.sessions as usize * self.runs as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn entry(&self, index: usize) -> Entry {
        let runs = self.runs as usize;
        let per_candidate = runs * self.sessions as usize;
        let candidate = index / per_candidate;
        let session = ((index / runs) % self.sessions as usize) as u32;
        let run = (index % runs) as u32;
        // Cannot overflow: check_last_seed bounded the largest seed.
        let seed = self.base_seed
            + candidate as i64 * SEED_STRIDE_CANDIDATE as i64
            + i64::from(session) * SEED_STRIDE_SESSION as i64
            + i64::from(run);
        Entry {
            candidate,
            session,
            run,
            seed,
        }
    }

    /// The execution tags `"{id}_s{session}_r{run}"`, concatenated, with their end offsets.
    pub fn tags(&self, ids: &[&[u8]]) -> (Vec<u8>, Vec<usize>) {
        let session_parts: Vec<Vec<u8>> = (0..self.sessions)
            .map(|s| format!("_s{s}").into_bytes())
            .collect();
        let run_parts: Vec<Vec<u8>> = (0..self.runs)
            .map(|r| format!("_r{r}").into_bytes())
            .collect();
        let n = self.len();
        let mut buf = Vec::with_capacity(n * 24);
        let mut ends = Vec::with_capacity(n);
        for id in ids.iter().take(self.n_ids) {
            for s in &session_parts {
                for r in &run_parts {
                    buf.extend_from_slice(id);
                    buf.extend_from_slice(s);
                    buf.extend_from_slice(r);
                    ends.push(buf.len());
                }
            }
        }
        (buf, ends)
    }
}

/// Validates a plan's inputs in the contract's order.
pub fn validate(ids: &[&[u8]], sessions: i128, runs: i128, base_seed: i128) -> CoreResult<Plan> {
    checks::non_empty_len(ids.len(), "candidate_ids")?;
    for id in ids {
        check_id(id)?;
    }
    checks::no_duplicates(ids.iter(), "candidate_ids")?;
    finish(ids.len(), sessions, runs, base_seed)
}

/// The checks after the ids (sessions, runs, base seed, last seed).
pub fn finish(n_ids: usize, sessions: i128, runs: i128, base_seed: i128) -> CoreResult<Plan> {
    let sessions = check_sessions(sessions)?;
    let runs = check_runs(runs)?;
    let base_seed = check_base_seed(base_seed)?;
    let base_seed = check_last_seed(n_ids, sessions, runs, base_seed)?;
    Ok(Plan {
        n_ids,
        sessions,
        runs,
        base_seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_tags() {
        let ids: Vec<&[u8]> = vec![b"a", b"bb"];
        let plan = validate(&ids, 2, 3, 42).unwrap();
        assert_eq!(plan.len(), 12);
        let e = plan.entry(11);
        assert_eq!(
            (e.candidate, e.session, e.run, e.seed),
            (1, 1, 2, 42 + 100_000 + 1_000 + 2)
        );
        let (buf, ends) = plan.tags(&ids);
        assert_eq!(&buf[..ends[0]], b"a_s0_r0");
        assert_eq!(&buf[ends[10]..ends[11]], b"bb_s1_r2");
        let seeds: std::collections::HashSet<i64> =
            (0..plan.len()).map(|i| plan.entry(i).seed).collect();
        assert_eq!(seeds.len(), plan.len());
    }

    #[test]
    fn limits() {
        let ids: Vec<&[u8]> = vec![b"a"];
        let code = |r: CoreResult<Plan>| {
            let e = r.unwrap_err();
            (e.code, e.field)
        };
        assert_eq!(
            code(validate(&[], 1, 1, 0)),
            (ErrorCode::Empty, "candidate_ids")
        );
        assert_eq!(
            code(validate(&[b"" as &[u8]], 1, 1, 0)),
            (ErrorCode::Empty, "candidate_ids")
        );
        assert_eq!(
            code(validate(&[b"a" as &[u8], b"a"], 1, 1, 0)),
            (ErrorCode::Duplicate, "candidate_ids")
        );
        assert_eq!(
            code(validate(&ids, 0, 1, 0)),
            (ErrorCode::OutOfRange, "sessions")
        );
        assert_eq!(
            code(validate(&ids, 100, 1, 0)),
            (ErrorCode::OutOfRange, "sessions")
        );
        assert_eq!(
            code(validate(&ids, 1, 1000, 0)),
            (ErrorCode::OutOfRange, "runs")
        );
        assert_eq!(
            code(validate(&ids, 1, 1, -1)),
            (ErrorCode::OutOfRange, "base_seed")
        );
        assert_eq!(
            code(validate(&ids, 1, 1, SEED_LIMIT + 1)),
            (ErrorCode::Overflow, "base_seed")
        );
        assert_eq!(
            code(validate(&ids, 1, 2, SEED_LIMIT)),
            (ErrorCode::Overflow, "base_seed")
        );
        assert_eq!(
            code(validate(&ids, 1, 1, i128::MAX)),
            (ErrorCode::Overflow, "base_seed")
        );
        assert_eq!(
            validate(&ids, 1, 1, SEED_LIMIT).unwrap().entry(0).seed,
            i64::MAX
        );
    }
}
