//! Times the pure-Rust core on the 1e6-candidate space, step by step:
//! `cargo run --release --example bench_enumerate`.
use _native::core::enumerate::*;
use std::time::Instant;

fn main() {
    let names: Vec<String> = (0..20).map(|i| format!("tile{i}")).collect();
    let raw = RawSpace {
        kernels: names.iter().map(|s| s.as_str()).collect(),
        vector_widths: (1..=10).collect(),
        unroll_k_values: (0..50).collect(),
        local_sizes: (1..=10)
            .flat_map(|x| (1..=10).map(move |y| (x, y)))
            .collect(),
        top_k: None,
        max_candidates: 1_000_000,
    };
    let space = validate_space(&raw).unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        let e = enumerate(&space);
        let sorted = t.elapsed();
        let decoded: Vec<[usize; 4]> = e.rows.iter().map(|&f| e.decode(f)).collect();
        let (ids, _) = e.ordered_ids();
        println!(
            "{} candidates: enumerate+sort {:?}, with decode and ids {:?} ({} id bytes, {} rows)",
            e.len(),
            sorted,
            t.elapsed(),
            ids.len(),
            decoded.len()
        );
    }
}
