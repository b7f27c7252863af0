//! Synthetic status exports for benchmarks and tests: valid codes in a warehouse-like mix, made
//! without a hub, the same for the same seed.
//!
//! The mix, per GTIN of [`CODES_PER_GTIN`] codes (a production run): 70 % long-form goods with
//! 13-character serials (light industry, shoes, perfume, and water with an expiry date), 15 %
//! milk (6-character serials, expiry date), 15 % tobacco packs (7-character serials, maximum
//! retail price, `cis` in the 21-character form). Half the boxes of [`UNITS_PER_BOX`] units
//! carry an SSCC parent; 40 owners; a fifth of the codes wait for shipment; one in a thousand
//! is blocked. Serials are random-looking within a GTIN, as printed codes are, and every code
//! is distinct. Each line also carries fields the import ignores, as real `cisInfo` does.

use std::io::{self, Read, Write};

use tally_domain::code::Ki;
use tally_domain::gs1::{Gtin, Sscc, check_digit};

pub const CODES_PER_GTIN: u64 = 2_000;
pub const UNITS_PER_BOX: u64 = 20;
const OWNERS: u64 = 40;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// SplitMix64: cheap, deterministic, good enough to scatter serials.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Goods {
    LightIndustry,
    Shoes,
    Perfume,
    Water,
    Milk,
    Tobacco,
}

impl Goods {
    fn of_run(seed: u64, run: u64) -> Goods {
        match mix(seed ^ run.wrapping_mul(0x51)) % 20 {
            0..=5 => Goods::LightIndustry,
            6..=9 => Goods::Shoes,
            10..=11 => Goods::Perfume,
            12..=13 => Goods::Water,
            14..=16 => Goods::Milk,
            _ => Goods::Tobacco,
        }
    }

    fn group_id(self) -> u8 {
        match self {
            Goods::LightIndustry => 1,
            Goods::Shoes => 2,
            Goods::Perfume => 4,
            Goods::Water => 13,
            Goods::Milk => 8,
            Goods::Tobacco => 3,
        }
    }

    fn serial_len(self) -> usize {
        match self {
            Goods::Milk => 6,
            Goods::Tobacco => 7,
            _ => 13,
        }
    }
}

/// The GTIN of production run `run`: `0460` + 9 digits + check digit.
fn gtin(seed: u64, run: u64) -> Option<Gtin> {
    let mut digits = [b'0'; 14];
    digits[..4].copy_from_slice(b"0460");
    let mut n = (mix(seed ^ 0xA5A5) % 1_000_000_000 + run) % 1_000_000_000;
    for slot in digits[4..13].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    digits[13] = b'0' + check_digit(&digits[..13]);
    Gtin::from_digits(&digits)
}

/// A serial of `len` characters: `5` (Russia) then base-62 digits. Short serials number the
/// code within its run through a bijection, so they never collide; 13-character ones carry 64
/// random bits, which is injective too.
fn serial(seed: u64, index: u64, len: usize, out: &mut [u8; 13]) {
    out[0] = b'5';
    let width = len - 1;
    let mut value = if len == 13 {
        mix(seed.rotate_left(17) ^ index)
    } else {
        let space = 62u64.pow(width as u32);
        // 0x9E3779B1 is odd and not a multiple of 31, so it is invertible modulo 62^width.
        let within = index % CODES_PER_GTIN;
        (within.wrapping_mul(0x9E37_79B1) % space + mix(seed ^ (index / CODES_PER_GTIN)) % space)
            % space
    };
    for slot in out[1..len].iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
}

struct Code {
    goods: Goods,
    gtin: Gtin,
    serial: [u8; 13],
    serial_len: usize,
    run: u64,
}

fn code(seed: u64, index: u64) -> Option<Code> {
    let run = index / CODES_PER_GTIN;
    let goods = Goods::of_run(seed, run);
    let mut serial_bytes = [0u8; 13];
    serial(seed, index, goods.serial_len(), &mut serial_bytes);
    Some(Code {
        goods,
        gtin: gtin(seed, run)?,
        serial: serial_bytes,
        serial_len: goods.serial_len(),
        run,
    })
}

/// The КИ of code `index` of the export made with `seed`.
pub fn ki(seed: u64, index: u64) -> Option<Ki> {
    let code = code(seed, index)?;
    Ki::new(code.gtin, &code.serial[..code.serial_len])
}

/// A valid 10-digit INN, one per owner number.
fn owner_inn(owner: u64) -> [u8; 10] {
    const WEIGHTS: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
    let mut digits = [b'0'; 10];
    let mut n = 7_700_000 + owner;
    digits[0] = b'7';
    digits[1] = b'7';
    for slot in digits[2..9].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let sum: u32 = WEIGHTS
        .iter()
        .zip(&digits[..9])
        .map(|(w, d)| w * u32::from(d - b'0'))
        .sum();
    digits[9] = b'0' + (sum % 11 % 10) as u8;
    digits
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// Appends the `cisInfo` line of code `index` (with its newline) to `out`.
pub fn write_status_line(seed: u64, index: u64, out: &mut Vec<u8>) -> io::Result<()> {
    // Every GTIN made here has its check digit, so this error is never seen.
    let code = code(seed, index).ok_or_else(|| io::Error::other("synthetic GTIN invalid"))?;
    let serial = text(&code.serial[..code.serial_len]);
    let gtin = code.gtin;
    let roll = mix(seed ^ index.wrapping_mul(0x2545_F491_4F6C_DD1D));
    match code.goods {
        Goods::Tobacco => write!(out, r#"{{"cis":"{gtin}{serial}""#)?,
        _ => write!(out, r#"{{"cis":"01{gtin}21{serial}""#)?,
    }
    let status = match roll % 100 {
        0 | 1 => "RETIRED",
        2 => "APPLIED",
        _ => "INTRODUCED",
    };
    let status_ex = if (roll >> 8).is_multiple_of(5) {
        "WAIT_SHIPMENT"
    } else {
        "EMPTY"
    };
    write!(
        out,
        r#","gtin":"{gtin}","productGroupId":{},"status":"{status}","statusEx":"{status_ex}","ownerInn":"{}","packageType":"UNIT""#,
        code.goods.group_id(),
        text(&owner_inn(code.run % OWNERS)),
    )?;
    let box_number = index / UNITS_PER_BOX;
    if mix(seed ^ box_number).is_multiple_of(2)
        && let Some(sscc) = Sscc::compose(1, "4600000", box_number % 1_000_000_000)
    {
        write!(out, r#","parent":"{sscc}""#)?;
    }
    match code.goods {
        Goods::Milk | Goods::Water => write!(
            out,
            r#","expirationDate":"2027-{:02}-{:02}T00:00:00.000Z""#,
            code.run % 12 + 1,
            code.run % 28 + 1
        )?,
        Goods::Tobacco => write!(
            out,
            r#","maxRetailPrice":{}"#,
            15_000 + (code.run % 50) * 500
        )?,
        _ => {}
    }
    if (roll >> 16).is_multiple_of(1000) {
        out.extend_from_slice(br#","blocked":true"#);
    }
    write!(
        out,
        r#","productName":"Synthetic item {}","emissionDate":"2026-10-01T10:00:00.000Z","producerInn":"{}","child":[]}}"#,
        code.run,
        text(&owner_inn(code.run % OWNERS)),
    )?;
    out.push(b'\n');
    Ok(())
}

/// A prime (Knuth's multiplicative-hash constant): stepping by it modulo the count visits
/// every index once, and consecutive steps land far apart.
const SCATTER: u64 = 2_654_435_761;

/// The export of codes `0..count` as JSON lines, generated as it is read.
#[derive(Debug)]
pub struct StatusExport {
    seed: u64,
    next: u64,
    end: u64,
    scattered: bool,
    line: Vec<u8>,
    pos: usize,
}

impl StatusExport {
    /// Codes in production-run order: GTIN after GTIN, serials random within a run.
    pub fn new(seed: u64, count: u64) -> StatusExport {
        StatusExport {
            seed,
            next: 0,
            end: count,
            scattered: false,
            line: Vec::with_capacity(512),
            pos: 0,
        }
    }

    /// The same codes in an order unrelated to their keys: the worst case for the B-tree.
    pub fn scattered(seed: u64, count: u64) -> StatusExport {
        StatusExport {
            scattered: true,
            ..StatusExport::new(seed, count)
        }
    }

    fn index(&self, k: u64) -> u64 {
        if self.scattered && !self.end.is_multiple_of(SCATTER) {
            ((u128::from(k) * u128::from(SCATTER)) % u128::from(self.end)) as u64
        } else {
            k
        }
    }
}

impl Read for StatusExport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            if self.pos == self.line.len() {
                if self.next == self.end {
                    break;
                }
                self.line.clear();
                self.pos = 0;
                write_status_line(self.seed, self.index(self.next), &mut self.line)?;
                self.next += 1;
            }
            let n = (self.line.len() - self.pos).min(buf.len() - written);
            buf[written..written + n].copy_from_slice(&self.line[self.pos..self.pos + n]);
            self.pos += n;
            written += n;
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::io::BufReader;
    use tally_domain::status::Inn;

    #[test]
    fn every_code_is_valid_distinct_and_reproducible() {
        let mut seen = HashSet::new();
        let mut line = Vec::new();
        for index in 0..20_000 {
            let ki = ki(7, index).unwrap();
            assert!(seen.insert(ki), "duplicate {ki}");
            line.clear();
            write_status_line(7, index, &mut line).unwrap();
            let value: serde_json::Value = serde_json::from_slice(&line).unwrap();
            let cis = value["cis"].as_str().unwrap();
            assert_eq!(Ki::from_cis(cis), Some(ki), "{cis}");
            assert!(Inn::parse(value["ownerInn"].as_str().unwrap()).is_some());
        }
        let mut export = String::new();
        StatusExport::new(7, 3).read_to_string(&mut export).unwrap();
        assert_eq!(export.lines().count(), 3);
    }

    #[test]
    fn a_scattered_export_holds_the_same_codes_in_another_order() {
        let cis = |export: StatusExport| -> Vec<String> {
            let mut text = String::new();
            BufReader::new(export).read_to_string(&mut text).unwrap();
            text.lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["cis"].to_string())
                .collect()
        };
        let in_order = cis(StatusExport::new(3, 5_000));
        let mut scattered = cis(StatusExport::scattered(3, 5_000));
        assert_ne!(scattered, in_order);
        scattered.sort();
        let mut sorted = in_order.clone();
        sorted.sort();
        assert_eq!(scattered, sorted);
    }
}
