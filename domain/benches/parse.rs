//! Parse throughput over a realistic mix of scans, and per kind.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tally_domain::code::{ParseOptions, mangle_through_russian_layout, parse};

const SIG: &str = "MEUCIQD+3b/RZsyk2QkGN7Ngl8Kz0XHmF1JdEpQ0aXp8";

fn gtin(n: u64) -> String {
    let body = format!("{:013}", 4_600_000_000_000 + n * 7919 % 1_000_000);
    let cd = tally_domain::gs1::check_digit(body.as_bytes());
    format!("{body}{cd}")
}

fn serial(n: u64, len: usize) -> String {
    const A: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789!%&*+-./:;<=>?_";
    (0..len)
        .map(|i| A[((n * 31 + i as u64 * 17) % A.len() as u64) as usize] as char)
        .collect()
}

/// What a shift of scanning looks like: mostly clean GS1 codes with the scanner's AIM prefix
/// and CR suffix, some tobacco packs and box labels, a few scanner failures.
fn shift_mix() -> Vec<Vec<u8>> {
    (0..1000u64)
        .map(|n| {
            let g = gtin(n);
            let code = match n % 20 {
                0..=7 => format!("]d201{g}21{}\x1d91EE10\x1d92{SIG}\r", serial(n, 13)),
                8..=12 => format!("]d201{g}21{}\x1d93{}\r", serial(n, 6), serial(n + 1, 4)),
                13 => format!(
                    "]d201{g}21{}\x1d93{}\x1d3103000450\r",
                    serial(n, 6),
                    serial(n, 4)
                ),
                14 | 15 => format!("{g}{}ACbo{}", serial(n, 7), serial(n + 3, 4)),
                16 => "]C100106141411234567897\r".to_string(),
                17 => format!("01{g}21{}91EE1092{SIG}", serial(n, 13)),
                18 => format!("01{g}21{}<GS>93{}", serial(n, 13), serial(n, 4)),
                _ => mangle_through_russian_layout(&format!(
                    "01{g}21{}\x1d93{}",
                    serial(n, 7),
                    serial(n, 4)
                )),
            };
            code.into_bytes()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let options = ParseOptions::default();
    let mix = shift_mix();
    let valid = mix.iter().filter(|m| parse(m, &options).is_ok()).count();
    assert!(valid > 950, "the mix must be mostly valid, {valid} were");

    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(mix.len() as u64));
    group.bench_function("shift_mix_1000", |b| {
        b.iter(|| {
            for raw in &mix {
                let _ = black_box(parse(black_box(raw), &options));
            }
        })
    });
    group.finish();

    let single: &[(&str, Vec<u8>)] = &[
        ("unit_long_clean", mix[0].clone()),
        ("unit_short_clean", mix[8].clone()),
        ("tobacco_pack", mix[14].clone()),
        ("sscc", mix[16].clone()),
        ("unit_long_gs_lost", mix[17].clone()),
        ("russian_layout", mix[19].clone()),
    ];
    let mut group = c.benchmark_group("parse_one");
    for (name, raw) in single {
        group.bench_function(*name, |b| b.iter(|| parse(black_box(raw), &options)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
