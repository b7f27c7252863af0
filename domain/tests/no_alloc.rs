//! Proves that parsing a GS1 unit code touches no heap: the scan hot path must not allocate.
#![allow(unsafe_code)] // a counting global allocator is the only way to observe allocations

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tally_domain::code::{ParseOptions, parse, read_gs1_data};

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: forwards to the system allocator unchanged; only counts calls on this thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn happy_paths_do_not_allocate() {
    let long = b"]d20104690257528523215AbC&<d>\"'%/;\x1d91EE10\x1d92MEUCIQD+3b/RZsyk2QkGN7Ngl8Kz0XHmF1JdEpQ0aXp8\r\n";
    let short = b"0104600840749372215XyZ1a\x1d93Ab1+\x1d3103000450";
    let lost = b"0104600840749372215XyZ1a93Ab1+3103000450";
    let pack = b"04606203086627-CtOkRAACbokB2/";
    // Pharma with expiry and batch before the serial, every separator lost: the search over
    // the product groups' formats runs on the stack too.
    let pharma = b"01046902575285231726123110LOT-7215AbC&<d>\"'%/;91EE1092MEUCIQD+3b/RZsyk2QkGN7Ngl8Kz0XHmF1JdEpQ0aXp8";
    let block = b"0104606203086627210000001\x1d8005150000\x1d93ab12\x1d240ABC";
    // Recovery by the one layout that fits: a pharma serial holding "91", a milk one "93".
    let pharma_91 = b"01046902575285231726123110LOT-721ABC91DEFGHIJK91EE1092MEUCIQD+3b/RZsyk2QkGN7Ngl8Kz0XHmF1JdEpQ0aXp8";
    let milk_93 = b"01046008407493722193ABCD93Ab1+";
    // A block with more AIs after its tail, and a bare КИ with a price.
    let block_extras =
        b"0104606203086627210000001\x1d8005150000\x1d93ab12\x1d17261231\x1d3103000450";
    let ki_price = b"010469025752852321ABCDEFGHIJKLM\x1d8005150000";
    let options = ParseOptions::default();
    for raw in [
        &long[..],
        short,
        lost,
        pack,
        pharma,
        block,
        pharma_91,
        milk_93,
        block_extras,
        ki_price,
    ] {
        let mut ki = None;
        let count = allocations_during(|| {
            let code = parse(raw, &options).expect("valid code");
            ki = code.ki().map(|k| k.key());
        });
        assert!(ki.is_some());
        assert_eq!(count, 0, "{} allocated", raw.escape_ascii());
    }
}

#[test]
fn labels_and_gs1_data_do_not_allocate() {
    // A pallet label with its logistics AIs, and GS1 data that is no marking code.
    let label = b"]C100046070000000000014020460620308662737120\x1d400PO-2026/17\x1d41046070000000074134607000000014420123456\x1d90X1\r";
    let data = b"10LOT-7\x1d17261231";
    // FNC1 first, an SSCC with 02, 37, 400, 420 and a TPX (235); a CPID with `#` (8010).
    let fnc1_label =
        b"]C1\x1d0010614141123456789702046062030866273712\x1d400PO-1\x1d4204201\x1d2354TPX";
    let cpid = b"\x1d8010AB#1\x1d99X";
    let options = ParseOptions::default();
    for raw in [&label[..], data, fnc1_label, cpid] {
        let mut elements = 0;
        let count = allocations_during(|| {
            let code = read_gs1_data(raw, &options).expect("valid GS1 data");
            elements = code.elements().count();
        });
        assert!(elements > 1);
        assert_eq!(count, 0, "{} allocated", raw.escape_ascii());
    }
    // The label is a label to parse too; the data is refused without allocating.
    let mut refused = None;
    let count = allocations_during(|| {
        assert!(parse(label, &options).is_ok());
        refused = parse(data, &options).err().map(|r| r.code());
    });
    assert_eq!(refused, Some("not_marking_code"));
    assert_eq!(count, 0);
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the test above against a counter that never counts.
    let count = allocations_during(|| {
        let v: Vec<u8> = std::hint::black_box(vec![1, 2, 3]);
        drop(v);
    });
    assert!(count >= 1);
}
