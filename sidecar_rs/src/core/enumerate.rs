//! Candidate enumeration and scoring (`runners/reference/enumerate.py`, design §3.1).

use super::checks;
use super::error::{fail, CoreResult, ErrorCode};

pub const DEFAULT_MAX_CANDIDATES: i128 = 1_000_000;
pub const MAX_LOCAL_DIM: i128 = 1024;
pub const MAX_WORK_GROUP: i128 = 1024;

/// Kernel bias of the score.
pub fn kernel_bias(kernel: &[u8]) -> f64 {
    let has = |pat: &[u8]| kernel.windows(pat.len()).any(|w| w == pat);
    if has(b"v3") {
        10.0
    } else if has(b"tile24") {
        8.0
    } else if has(b"tile20") {
        6.5
    } else {
        5.0
    }
}

/// Vector-width bonus of the score (`1.0 + 0.25*log2(w)` off the table).
pub fn vector_bonus(width: u32) -> f64 {
    match width {
        1 => 0.0,
        2 => 0.8,
        4 => 1.6,
        8 => 2.1,
        w => 1.0 + 0.25 * f64::from(w).log2(),
    }
}

fn unroll_term(unroll: u32) -> f64 {
    0.12 * f64::from(unroll)
}

fn local_terms(x: u32, y: u32) -> (f64, f64) {
    let threads = i64::from(x) * i64::from(y);
    let shape = 0.015 * (threads - 100).abs() as f64;
    let penalty = if threads > 256 {
        0.01 * (threads - 256) as f64
    } else {
        0.0
    };
    (shape, penalty)
}

/// The score, evaluated left to right in IEEE doubles exactly as the reference does.
pub fn score(kernel: &[u8], width: u32, unroll: u32, x: u32, y: u32) -> f64 {
    let (shape, penalty) = local_terms(x, y);
    kernel_bias(kernel) + vector_bonus(width) + unroll_term(unroll) - shape - penalty
}

/// `"{kernel}_vw{w}_u{u}_l{x}x{y}"`.
pub fn candidate_id(kernel: &str, width: u32, unroll: u32, x: u32, y: u32) -> String {
    format!("{kernel}_vw{width}_u{unroll}_l{x}x{y}")
}

// ------------------------------------------------------------------ validation, step by step

pub fn check_kernel(kernel: &[u8]) -> CoreResult<&[u8]> {
    checks::name(kernel, "kernels")
}

pub fn check_width(width: i128) -> CoreResult<u32> {
    Ok(checks::int_in(width, "vector_widths", 1, Some(16))? as u32)
}

pub fn check_unroll(unroll: i128) -> CoreResult<u32> {
    Ok(checks::int_in(unroll, "unroll_k_values", 0, Some(64))? as u32)
}

pub fn check_local_dim(dim: i128) -> CoreResult<u32> {
    Ok(checks::int_in(dim, "local_sizes", 1, Some(MAX_LOCAL_DIM))? as u32)
}

pub fn check_work_group(x: u32, y: u32) -> CoreResult<(u32, u32)> {
    if i128::from(x) * i128::from(y) > MAX_WORK_GROUP {
        return fail(
            ErrorCode::OutOfRange,
            "local_sizes",
            format!("{x}x{y} exceeds {MAX_WORK_GROUP} work-items"),
        );
    }
    Ok((x, y))
}

pub fn check_top_k(top_k: i128) -> CoreResult<i128> {
    checks::int_in(top_k, "top_k", 1, None)
}

pub fn check_max_candidates(cap: i128) -> CoreResult<i128> {
    checks::int_in(cap, "max_candidates", 1, None)
}

/// The cap on the product of the list lengths, checked before anything is allocated.
pub fn check_total(lens: [usize; 4], cap: i128) -> CoreResult<usize> {
    let total = lens
        .iter()
        .fold(1u128, |acc, &n| acc.saturating_mul(n as u128));
    if cap < 0 || total > cap as u128 {
        return fail(
            ErrorCode::TooLarge,
            "space",
            format!("{total} candidates exceed the cap of {cap}"),
        );
    }
    usize::try_from(total).or_else(|_| {
        fail(
            ErrorCode::TooLarge,
            "space",
            format!("{total} candidates do not fit in memory"),
        )
    })
}

/// A search space with plain values, not validated yet (the pure-Rust entry point).
#[derive(Debug, Clone)]
pub struct RawSpace<'a> {
    pub kernels: Vec<&'a str>,
    pub vector_widths: Vec<i128>,
    pub unroll_k_values: Vec<i128>,
    pub local_sizes: Vec<(i128, i128)>,
    pub top_k: Option<i128>,
    pub max_candidates: i128,
}

/// A validated search space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Space<'a> {
    pub kernels: Vec<&'a [u8]>,
    pub widths: Vec<u32>,
    pub unrolls: Vec<u32>,
    pub locals: Vec<(u32, u32)>,
    pub top_k: Option<usize>,
    pub total: usize,
}

/// Validates a space in the contract's order.
pub fn validate_space<'a>(raw: &RawSpace<'a>) -> CoreResult<Space<'a>> {
    checks::non_empty_len(raw.kernels.len(), "kernels")?;
    let kernels = raw
        .kernels
        .iter()
        .map(|k| check_kernel(k.as_bytes()))
        .collect::<CoreResult<Vec<_>>>()?;
    checks::no_duplicates(kernels.iter(), "kernels")?;
    checks::non_empty_len(raw.vector_widths.len(), "vector_widths")?;
    let widths = raw
        .vector_widths
        .iter()
        .map(|&w| check_width(w))
        .collect::<CoreResult<Vec<_>>>()?;
    checks::no_duplicates(widths.iter(), "vector_widths")?;
    checks::non_empty_len(raw.unroll_k_values.len(), "unroll_k_values")?;
    let unrolls = raw
        .unroll_k_values
        .iter()
        .map(|&u| check_unroll(u))
        .collect::<CoreResult<Vec<_>>>()?;
    checks::no_duplicates(unrolls.iter(), "unroll_k_values")?;
    checks::non_empty_len(raw.local_sizes.len(), "local_sizes")?;
    let locals = raw
        .local_sizes
        .iter()
        .map(|&(x, y)| check_work_group(check_local_dim(x)?, check_local_dim(y)?))
        .collect::<CoreResult<Vec<_>>>()?;
    checks::no_duplicates(locals.iter(), "local_sizes")?;
    let top_k = raw.top_k.map(check_top_k).transpose()?;
    let cap = check_max_candidates(raw.max_candidates)?;
    let total = check_total(
        [kernels.len(), widths.len(), unrolls.len(), locals.len()],
        cap,
    )?;
    Ok(Space {
        kernels,
        widths,
        unrolls,
        locals,
        top_k: top_k.map(|k| usize::try_from(k).unwrap_or(usize::MAX)),
        total,
    })
}

// ------------------------------------------------------------------ enumeration

/// Scored candidates, best first. Rows are flat indexes of the nested loops
/// kernel x width x unroll x local (decode them with [`Enumeration::decode`]).
#[derive(Debug, Clone)]
pub struct Enumeration {
    /// Flat index of each output row, best first, truncated to `top_k`.
    pub rows: Vec<usize>,
    /// Score of each output row.
    pub scores: Vec<f64>,
    /// Index of each output row's score among the distinct (bias class, combo) scores:
    /// rows with the same index have bit-identical scores.
    pub score_slots: Vec<usize>,
    /// Number of score slots.
    pub n_score_slots: usize,
    /// Size of the whole space before truncation.
    pub total: usize,
    ids: IdParts,
}

/// The pieces candidate ids are made of: `kernel + "_vw{w}" + "_u{u}" + "_l{x}x{y}"`.
#[derive(Debug, Clone)]
struct IdParts {
    kernels: Vec<Vec<u8>>,
    widths: Vec<Vec<u8>>,
    unrolls: Vec<Vec<u8>>,
    locals: Vec<Vec<u8>>,
}

impl IdParts {
    fn new(space: &Space<'_>) -> Self {
        let part = |head: &[u8], values: &[u32]| {
            let mut b = head.to_vec();
            for (i, &v) in values.iter().enumerate() {
                if i > 0 {
                    b.push(b'x');
                }
                push_u32(&mut b, v);
            }
            b
        };
        IdParts {
            kernels: space.kernels.iter().map(|k| k.to_vec()).collect(),
            widths: space.widths.iter().map(|&w| part(b"_vw", &[w])).collect(),
            unrolls: space.unrolls.iter().map(|&u| part(b"_u", &[u])).collect(),
            locals: space
                .locals
                .iter()
                .map(|&(x, y)| part(b"_l", &[x, y]))
                .collect(),
        }
    }

    fn combos(&self) -> usize {
        self.widths.len() * self.unrolls.len() * self.locals.len()
    }

    /// (kernel, width, unroll, local) list indexes of flat index `flat`.
    fn decode(&self, flat: usize) -> [usize; 4] {
        let (n_w, n_u, n_l) = (self.widths.len(), self.unrolls.len(), self.locals.len());
        let (rest, l) = (flat / n_l, flat % n_l);
        let (rest, u) = (rest / n_u, rest % n_u);
        let (k, w) = (rest / n_w, rest % n_w);
        [k, w, u, l]
    }

    fn pieces(&self, flat: usize) -> [&[u8]; 4] {
        let [k, w, u, l] = self.decode(flat);
        [
            &self.kernels[k],
            &self.widths[w],
            &self.unrolls[u],
            &self.locals[l],
        ]
    }

    fn write(&self, flat: usize, buf: &mut Vec<u8>) {
        for piece in self.pieces(flat) {
            buf.extend_from_slice(piece);
        }
    }

    /// First 16 bytes of the id, zero padded: ids hold no NUL, so prefixes order like ids.
    fn prefix(&self, flat: usize) -> u128 {
        let mut out = [0u8; 16];
        let mut at = 0;
        for piece in self.pieces(flat) {
            let n = piece.len().min(16 - at);
            out[at..at + n].copy_from_slice(&piece[..n]);
            at += n;
            if at == 16 {
                break;
            }
        }
        u128::from_be_bytes(out)
    }

    /// Compares two ids byte by byte (code-point order for ASCII) without building them.
    fn cmp(&self, a: usize, b: usize) -> std::cmp::Ordering {
        self.pieces(a)
            .iter()
            .flat_map(|p| p.iter())
            .cmp(self.pieces(b).iter().flat_map(|p| p.iter()))
    }
}

impl Enumeration {
    /// Candidate id of flat index `flat`.
    pub fn id(&self, flat: usize) -> Vec<u8> {
        let mut buf = Vec::with_capacity(32);
        self.ids.write(flat, &mut buf);
        buf
    }

    /// Candidate id of output row `row`.
    pub fn row_id(&self, row: usize) -> String {
        String::from_utf8_lossy(&self.id(self.rows[row])).into_owned()
    }

    /// (kernel, width, unroll, local) list indexes of flat index `flat`.
    pub fn decode(&self, flat: usize) -> [usize; 4] {
        self.ids.decode(flat)
    }

    /// The ids of the output rows, concatenated in output order, with their end offsets.
    /// Big results are written by two threads, each into its own half, then joined.
    pub fn ordered_ids(&self) -> (Vec<u8>, Vec<usize>) {
        let write = |rows: &[usize]| {
            let mut buf = Vec::with_capacity(rows.len() * 28);
            let mut ends = Vec::with_capacity(rows.len());
            for &flat in rows {
                self.ids.write(flat, &mut buf);
                ends.push(buf.len());
            }
            (buf, ends)
        };
        if self.rows.len() < PARALLEL_MIN || worker_threads() < 2 {
            return write(&self.rows);
        }
        let (head, tail) = self.rows.split_at(self.rows.len() / 2);
        let ((mut buf, mut ends), (tail_buf, tail_ends)) = std::thread::scope(|scope| {
            let second = scope.spawn(|| write(tail));
            let first = write(head);
            (first, second.join().expect("id writer thread panicked"))
        });
        let offset = buf.len();
        buf.extend_from_slice(&tail_buf);
        ends.extend(tail_ends.iter().map(|&end| end + offset));
        (buf, ends)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

fn push_u32(buf: &mut Vec<u8>, value: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    let mut v = value;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// Spaces at least this large use a second thread for the id work.
const PARALLEL_MIN: usize = 100_000;

fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Sorts each `(lo, hi)` group of `rows` (a slice starting at row `offset`) by id.
fn sort_groups(parts: &IdParts, rows: &mut [usize], offset: usize, groups: &[(usize, usize)]) {
    let mut group: Vec<(u128, usize)> = Vec::new();
    for &(lo, hi) in groups {
        if hi - lo > 1 {
            let slice = &mut rows[lo - offset..hi - offset];
            group.clear();
            group.extend(slice.iter().map(|&f| (parts.prefix(f), f)));
            group.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| parts.cmp(a.1, b.1)));
            for (slot, &(_, f)) in slice.iter_mut().zip(&group) {
                *slot = f;
            }
        }
    }
}

/// Enumerates and sorts a validated space (score descending, then id ascending).
///
/// A score depends only on the kernel's bias class and the (width, unroll, local) combo, so
/// the distinct scores (at most 4 x combos) are computed and ranked once; candidates are then
/// placed by a counting sort on that rank, and each group of equal scores is ordered by id.
pub fn enumerate(space: &Space<'_>) -> Enumeration {
    let parts = IdParts::new(space);
    let combos = parts.combos();
    let n_l = space.locals.len();
    let n_u = space.unrolls.len();

    // Bias classes present among the kernels.
    let mut biases: Vec<f64> = Vec::new();
    let kernel_class: Vec<usize> = space
        .kernels
        .iter()
        .map(|k| {
            let b = kernel_bias(k);
            match biases.iter().position(|&x| x.to_bits() == b.to_bits()) {
                Some(i) => i,
                None => {
                    biases.push(b);
                    biases.len() - 1
                }
            }
        })
        .collect();

    // Score of every (class, combo), evaluated exactly as the reference does.
    let local_terms_v: Vec<(f64, f64)> = space
        .locals
        .iter()
        .map(|&(x, y)| local_terms(x, y))
        .collect();
    let mut class_scores: Vec<f64> = Vec::with_capacity(biases.len() * combos);
    for &bias in &biases {
        for &w in &space.widths {
            let head = bias + vector_bonus(w);
            for &u in &space.unrolls {
                let mid = head + unroll_term(u);
                for &(shape, penalty) in &local_terms_v {
                    class_scores.push(mid - shape - penalty);
                }
            }
        }
    }
    debug_assert_eq!(n_l * n_u * space.widths.len(), combos);

    // Dense rank of each (class, combo) score: 0 = best; equal scores share a rank.
    let mut by_score: Vec<usize> = (0..class_scores.len()).collect();
    by_score.sort_unstable_by(|&a, &b| class_scores[b].total_cmp(&class_scores[a]));
    let mut rank = vec![0usize; class_scores.len()];
    let mut current = 0usize;
    for (i, &idx) in by_score.iter().enumerate() {
        if i > 0 && class_scores[idx] != class_scores[by_score[i - 1]] {
            current += 1;
        }
        rank[idx] = current;
    }
    let n_ranks = current + 1;

    // Counting sort of the candidates by rank (flat order kept within a rank).
    let total = space.total;
    let rank_of = |flat: usize| {
        let (k, c) = (flat / combos, flat % combos);
        rank[kernel_class[k] * combos + c]
    };
    let mut starts = vec![0usize; n_ranks + 1];
    for flat in 0..total {
        starts[rank_of(flat) + 1] += 1;
    }
    for r in 0..n_ranks {
        starts[r + 1] += starts[r];
    }
    let mut next = starts.clone();
    let mut rows = vec![0usize; total];
    for flat in 0..total {
        let r = rank_of(flat);
        rows[next[r]] = flat;
        next[r] += 1;
    }

    // Order each group of equal scores by id, up to top_k. Groups are independent, so big
    // spaces split them between two threads at a group boundary near the middle.
    let keep = space.top_k.map_or(total, |k| k.min(total));
    let groups: Vec<(usize, usize)> = (0..n_ranks)
        .map(|r| (starts[r], starts[r + 1]))
        .take_while(|&(lo, _)| lo < keep)
        .collect();
    let split = if keep >= PARALLEL_MIN && worker_threads() > 1 {
        groups.partition_point(|&(lo, _)| lo < keep / 2)
    } else {
        groups.len()
    };
    let (first, second) = groups.split_at(split);
    let cut = second.first().map_or(rows.len(), |&(lo, _)| lo);
    let (head, tail) = rows.split_at_mut(cut);
    std::thread::scope(|scope| {
        if !second.is_empty() {
            let parts = &parts;
            scope.spawn(move || sort_groups(parts, tail, cut, second));
        }
        sort_groups(&parts, head, 0, first);
    });
    rows.truncate(keep);
    let score_slots: Vec<usize> = rows
        .iter()
        .map(|&f| kernel_class[f / combos] * combos + f % combos)
        .collect();
    let scores = score_slots.iter().map(|&slot| class_scores[slot]).collect();
    Enumeration {
        rows,
        scores,
        score_slots,
        n_score_slots: class_scores.len(),
        total,
        ids: parts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(kernels: Vec<&'a str>) -> RawSpace<'a> {
        RawSpace {
            kernels,
            vector_widths: vec![1, 2, 4, 8],
            unroll_k_values: vec![0, 4, 10],
            local_sizes: vec![(8, 8), (10, 10), (12, 12), (16, 16), (32, 32)],
            top_k: None,
            max_candidates: DEFAULT_MAX_CANDIDATES,
        }
    }

    #[test]
    fn scores_follow_the_formula() {
        assert_eq!(
            score(b"t20_prod", 4, 10, 10, 10),
            5.0 + 1.6 + 0.12 * 10.0 - 0.0 - 0.0
        );
        assert_eq!(
            score(b"tile24", 1, 0, 32, 32),
            8.0 + 0.0 + 0.0 - 0.015 * 924.0 - 0.01 * 768.0
        );
        assert_eq!(vector_bonus(16), 2.0);
        assert_eq!(vector_bonus(3), 1.0 + 0.25 * 3f64.log2());
        assert_eq!(kernel_bias(b"xv3tile24"), 10.0);
        assert_eq!(kernel_bias(b"tile20x"), 6.5);
    }

    #[test]
    fn enumeration_is_sorted_and_complete() {
        let space = validate_space(&raw(vec!["tile20", "tile24", "gemm_v3"])).unwrap();
        let e = enumerate(&space);
        assert_eq!(e.total, 3 * 4 * 3 * 5);
        assert_eq!(e.len(), e.total);
        for pair in e.rows.windows(2).zip(e.scores.windows(2)) {
            let ((a, b), (sa, sb)) = ((pair.0[0], pair.0[1]), (pair.1[0], pair.1[1]));
            assert!(sa > sb || (sa == sb && e.id(a) < e.id(b)));
        }
        let first = e.rows[0];
        let [k, w, u, l] = e.decode(first);
        let (x, y) = space.locals[l];
        let id = candidate_id(
            std::str::from_utf8(space.kernels[k]).unwrap(),
            space.widths[w],
            space.unrolls[u],
            x,
            y,
        );
        assert_eq!(e.row_id(0), id);
        assert_eq!(id, "gemm_v3_vw8_u10_l10x10");
        assert_eq!(e.scores[0], score(b"gemm_v3", 8, 10, 10, 10));
    }

    #[test]
    fn top_k_truncates_the_same_order() {
        let all = enumerate(&validate_space(&raw(vec!["a", "b", "tile20"])).unwrap());
        let mut r = raw(vec!["a", "b", "tile20"]);
        r.top_k = Some(7);
        let top = enumerate(&validate_space(&r).unwrap());
        assert_eq!(top.rows, all.rows[..7]);
        assert_eq!(top.total, all.total);
        r.top_k = Some(10_000);
        assert_eq!(enumerate(&validate_space(&r).unwrap()).rows, all.rows);
    }

    #[test]
    fn validation_order_and_codes() {
        let err = |r: RawSpace<'_>| {
            let e = validate_space(&r).unwrap_err();
            (e.code, e.field)
        };
        assert_eq!(err(raw(vec![])), (ErrorCode::Empty, "kernels"));
        assert_eq!(err(raw(vec!["a", "a"])), (ErrorCode::Duplicate, "kernels"));
        assert_eq!(
            err(raw(vec!["a-b", "a", "a"])),
            (ErrorCode::InvalidName, "kernels")
        );
        let mut r = raw(vec!["a"]);
        r.vector_widths = vec![17];
        assert_eq!(err(r), (ErrorCode::OutOfRange, "vector_widths"));
        let mut r = raw(vec!["a"]);
        r.unroll_k_values = vec![65];
        assert_eq!(err(r), (ErrorCode::OutOfRange, "unroll_k_values"));
        let mut r = raw(vec!["a"]);
        r.local_sizes = vec![(64, 32)];
        assert_eq!(err(r), (ErrorCode::OutOfRange, "local_sizes"));
        let mut r = raw(vec!["a"]);
        r.local_sizes = vec![(2, 2), (2, 2)];
        assert_eq!(err(r), (ErrorCode::Duplicate, "local_sizes"));
        let mut r = raw(vec!["a"]);
        r.top_k = Some(0);
        assert_eq!(err(r), (ErrorCode::OutOfRange, "top_k"));
        let mut r = raw(vec!["a"]);
        r.max_candidates = 59;
        assert_eq!(err(r.clone()), (ErrorCode::TooLarge, "space"));
        r.max_candidates = 60;
        assert!(validate_space(&r).is_ok());
    }

    #[test]
    fn huge_products_saturate() {
        let cap = DEFAULT_MAX_CANDIDATES;
        let err = check_total([usize::MAX; 4], cap).unwrap_err();
        assert_eq!(err.code, ErrorCode::TooLarge);
    }
}
