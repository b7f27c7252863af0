//! Real marking codes drawn as GS1 Data Matrix, put through what a camera does to them
//! (scale, turn, blur, noise, a 1280×720 frame, PNG and JPEG files) and read back byte for
//! byte, GS included, with the symbology a scanner would report. QR goes through rqrr.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

use std::sync::Arc;
use std::time::Duration;

use tally_domain::code::Symbology;
use tally_drivers::image::synthetic::{self, Scene};
use tally_drivers::image::{
    DecodeOptions, Decoded, FileSource, FrameDecoder, FrameSource, LookFor, LumaFrame, Pass,
};

/// Milk, short form: `01` GTIN `21` serial GS `93` tail.
const MILK: &[u8] = b"0104600840749372215XyZ1a\x1d93Ab1+";
/// Shoes, long form: a 13-character serial full of characters that get mangled elsewhere
/// (`' < & " % / ; >`), then GS `91` key GS `92` a 44-character base64 signature.
const SHOES_KI_PREFIX: &[u8] = b"010469025752852321";
const SHOES_SERIAL: &[u8] = b"5'<A&b\"%/;C>x";
const SIGNATURE: &[u8] = b"MEUCIQD+3b/RZsyk2QkGN7Ngl8Kz0XHmF1JdEpQ0aXp8";
/// A cigarette pack: 29 characters, no AIs, no GS, printed as plain Data Matrix.
const TOBACCO_PACK: &[u8] = b"04606203086627-CtOkRAACbokB2/";

fn shoes() -> Vec<u8> {
    let mut code = SHOES_KI_PREFIX.to_vec();
    code.extend_from_slice(SHOES_SERIAL);
    code.extend_from_slice(b"\x1d91EE10\x1d92");
    code.extend_from_slice(SIGNATURE);
    code
}

/// Debug builds decode an order of magnitude slower than release; the deadline only has to
/// keep a broken decoder from hanging the test.
fn decoder() -> FrameDecoder {
    FrameDecoder::new(DecodeOptions {
        look_for: LookFor::GOODS,
        try_harder: true,
        deadline: Duration::from_secs(60),
    })
}

fn read(frame: LumaFrame) -> Decoded {
    decoder()
        .decode(frame)
        .unwrap_or_else(|e| panic!("no code read back: {e}"))
}

fn assert_gs1(decoded: &Decoded, payload: &[u8]) {
    assert_eq!(
        decoded.payload,
        payload,
        "payload {:?}",
        String::from_utf8_lossy(&decoded.payload)
    );
    assert_eq!(decoded.symbology, Symbology::GS1_DATA_MATRIX);
    assert_eq!(decoded.symbology.to_string(), "]d2");
}

fn shoot(payload: &[u8], scene: Scene) -> LumaFrame {
    let symbol = synthetic::data_matrix(payload, true).unwrap();
    scene.shoot(&symbol).unwrap()
}

#[test]
fn a_sharp_upright_code_reads_back_exactly_on_the_fast_pass() {
    let frame = shoot(
        MILK,
        Scene {
            rotate: 0.0,
            blur: 0,
            noise: 0,
            ..Scene::default()
        },
    );
    assert_eq!((frame.width(), frame.height()), (1280, 720));
    let mut fast_only = FrameDecoder::new(DecodeOptions {
        deadline: Duration::from_secs(60),
        ..DecodeOptions::default()
    });
    let decoded = fast_only.decode(frame).unwrap();
    assert_gs1(&decoded, MILK);
    assert_eq!(decoded.pass, Pass::Fast);
    // The leading FNC1 is the symbology, not a byte; the inner FNC1 is exactly one GS.
    assert_eq!(decoded.payload.first(), Some(&b'0'));
    assert_eq!(decoded.payload.iter().filter(|&&b| b == 0x1D).count(), 1);
}

#[test]
fn a_quarter_turn_reads_back_exactly() {
    let code = shoes();
    let decoded = read(shoot(
        &code,
        Scene {
            rotate: 90.0,
            ..Scene::default()
        },
    ));
    assert_gs1(&decoded, &code);
}

#[test]
fn a_slightly_turned_blurred_noisy_code_reads_back_exactly() {
    let code = shoes();
    for (rotate, seed) in [(12.0, 1), (-15.0, 2), (10.0, 3)] {
        let decoded = read(shoot(
            &code,
            Scene {
                rotate,
                blur: 1,
                noise: 14,
                seed,
                ..Scene::default()
            },
        ));
        assert_gs1(&decoded, &code);
    }
}

#[test]
fn far_close_and_faded_codes_read_back_exactly() {
    let code = shoes();
    let cases: [(&str, &[u8], Scene); 4] = [
        // Held far away: four pixels per module for the big long-form symbol...
        (
            "far, long form",
            &code,
            Scene {
                scale: 4.0,
                rotate: 7.0,
                x: 900,
                y: 500,
                ..Scene::default()
            },
        ),
        // ...and five for the small short-form one, where rxing's fast pass often gives up and
        // the try-harder pass reads it.
        (
            "far, short form",
            MILK,
            Scene {
                scale: 5.0,
                rotate: -6.0,
                x: 60,
                y: 480,
                ..Scene::default()
            },
        ),
        // Held close and out of focus: the symbol fills a good part of the frame.
        (
            "close",
            MILK,
            Scene {
                scale: 7.5,
                rotate: -13.0,
                x: 330,
                y: 40,
                blur: 2,
                ..Scene::default()
            },
        ),
        // Faded print on a dark box, in dim light.
        (
            "faded",
            &code,
            Scene {
                ink: 90,
                paper: 170,
                background: 60,
                noise: 10,
                seed: 9,
                ..Scene::default()
            },
        ),
    ];
    for (name, payload, scene) in cases {
        let decoded = decoder()
            .decode(shoot(payload, scene))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_gs1(&decoded, payload);
    }
}

#[test]
fn a_tobacco_pack_is_plain_data_matrix() {
    let symbol = synthetic::data_matrix(TOBACCO_PACK, false).unwrap();
    let decoded = read(Scene::default().shoot(&symbol).unwrap());
    assert_eq!(decoded.payload, TOBACCO_PACK);
    assert_eq!(decoded.symbology.to_string(), "]d1");
}

#[test]
fn png_jpeg_and_webp_files_read_back_exactly() {
    let dir = std::env::temp_dir().join(format!("tally-image-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let code = shoes();
    let frame = shoot(&code, Scene::default());
    std::fs::write(dir.join("a.png"), synthetic::png(&frame).unwrap()).unwrap();
    std::fs::write(dir.join("b.jpg"), synthetic::jpeg(&frame, 80).unwrap()).unwrap();
    std::fs::write(dir.join("c.webp"), synthetic::webp(&frame).unwrap()).unwrap();

    // The directory stands for its files, in name order.
    let mut source = FileSource::new([&dir]);
    let mut decoder = decoder();
    let far = std::time::Instant::now() + Duration::from_secs(1);
    for name in ["a.png", "b.jpg", "c.webp"] {
        let frame = source.next_frame(far).unwrap().unwrap();
        assert_eq!(source.current(), Some(dir.join(name).as_path()));
        assert_eq!((frame.width(), frame.height()), (1280, 720));
        assert_gs1(&decoder.decode(frame).unwrap(), &code);
    }
    assert_eq!(source.next_frame(far), Ok(None));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_png_with_a_transparent_background_reads_as_black_on_white() {
    // Label software exports ink as opaque black and the paper as transparent black: read as
    // plain luma, the whole picture would be black.
    let symbol = synthetic::data_matrix(MILK, true).unwrap();
    let label = synthetic::scale(&symbol, 6.0).unwrap();
    let rgba: Vec<u8> = label
        .pixels()
        .iter()
        .flat_map(|&luma| [0, 0, 0, 255 - luma])
        .collect();
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &rgba,
        label.width(),
        label.height(),
        image::ExtendedColorType::Rgba8,
    )
    .unwrap();
    let frame = tally_drivers::image::read_image(&png).unwrap();
    assert_eq!(frame.get(0, 0), Some(255));
    assert_gs1(&read(frame), MILK);
}

#[test]
fn qr_badges_and_gs1_qr_read_back_exactly() {
    let badge = b"TALLY1;operator=0042;name=Ivanova A.;role=picker";
    let symbol = synthetic::qr(badge, false).unwrap();
    let scene = Scene {
        scale: 5.0,
        rotate: 8.0,
        ..Scene::default()
    };
    let mut decoder = FrameDecoder::new(DecodeOptions {
        look_for: LookFor::BADGES,
        try_harder: false,
        deadline: Duration::from_secs(60),
    });
    let decoded = decoder
        .decode(Arc::new(scene.shoot(&symbol).unwrap()))
        .unwrap();
    assert_eq!(decoded.payload, badge);
    assert_eq!(decoded.symbology.to_string(), "]Q1");

    // A marking code printed as GS1 QR: rqrr finds the grid, the FNC1 modes are read by
    // rxing's bit-stream decoder, and the GS survives.
    let symbol = synthetic::qr(MILK, true).unwrap();
    let decoded = decoder.decode(scene.shoot(&symbol).unwrap()).unwrap();
    assert_eq!(decoded.payload, MILK);
    assert_eq!(decoded.symbology.to_string(), "]Q3");
}

#[test]
fn looking_for_goods_ignores_a_qr_code() {
    let symbol = synthetic::qr(b"TALLY1;operator=0042", false).unwrap();
    let frame = Scene::default().shoot(&symbol).unwrap();
    let mut goods = FrameDecoder::new(DecodeOptions {
        deadline: Duration::from_secs(60),
        ..DecodeOptions::default()
    });
    assert_eq!(
        goods.decode(frame.clone()),
        Err(tally_drivers::image::DecodeFailure::NoCodeFound)
    );
    let mut any = FrameDecoder::new(DecodeOptions {
        look_for: LookFor::ANY,
        try_harder: false,
        deadline: Duration::from_secs(60),
    });
    assert_eq!(any.decode(frame).unwrap().payload, b"TALLY1;operator=0042");
}
