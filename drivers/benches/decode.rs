//! Decoding a 1280×720 camera frame holding one marking code: the cost of every frame the
//! camera loop sees, with and without a code in it.
#![allow(clippy::expect_used)] // bench set-up: a frame that cannot be drawn is a broken bench

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tally_drivers::image::synthetic::{self, Scene};
use tally_drivers::image::{
    DecodeOptions, FrameDecoder, LookFor, LumaFrame, Pass, StandardReader, SymbolReader,
};

/// A long-form unit code (shoes): `01` GTIN `21` serial GS `91` key GS `92` signature, the
/// biggest symbol (36×36 modules) a consumer unit carries.
const LONG_FORM: &[u8] =
    b"0104690257528523215k<Tq&8Zp\"w%R\x1d91EE10\x1d92MEUCIQD+3b/RZsyk2QkGN7Ngl8Kz0XHmF1JdEpQ0aXp8";

fn scene(payload: &[u8]) -> LumaFrame {
    let symbol = synthetic::data_matrix(payload, true).expect("the code encodes");
    Scene::default().shoot(&symbol).expect("the scene draws")
}

fn decode(c: &mut Criterion) {
    let with_code = Arc::new(scene(LONG_FORM));
    let without_code = Arc::new(
        Scene::default()
            .shoot(&LumaFrame::filled(40, 40, 255).expect("a blank label"))
            .expect("the scene draws"),
    );
    let mut group = c.benchmark_group("decode_720p");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(8));

    // What the camera loop pays per frame: worker hand-off included, fast pass only.
    let mut decoder = FrameDecoder::new(DecodeOptions {
        deadline: Duration::from_secs(5),
        ..DecodeOptions::default()
    });
    assert!(decoder.decode(Arc::clone(&with_code)).is_ok());
    group.bench_function("frame_decoder_fast", |b| {
        b.iter(|| decoder.decode(Arc::clone(&with_code)))
    });
    group.bench_function("frame_decoder_no_code", |b| {
        b.iter(|| decoder.decode(Arc::clone(&without_code)))
    });
    // The reader alone, on this thread: the decoders' own cost.
    group.bench_function("read_fast", |b| {
        b.iter(|| StandardReader.read(black_box(&with_code), LookFor::GOODS, Pass::Fast))
    });
    group.bench_function("read_try_harder", |b| {
        b.iter(|| StandardReader.read(black_box(&with_code), LookFor::GOODS, Pass::TryHarder))
    });
    group.bench_function("read_try_harder_no_code", |b| {
        b.iter(|| StandardReader.read(black_box(&without_code), LookFor::GOODS, Pass::TryHarder))
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
