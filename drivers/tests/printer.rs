//! A label printer on a real socket, as the terminal meets it: ready, out of paper, off, and a
//! print server that never answers a status request; and a printer device file.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use tally_domain::Lang;
use tally_domain::reason::Reason;
use tally_drivers::printer::{PrintError, PrinterAddress, PrinterTimeouts, print};

const READY: &[u8] = b"\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,4,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n";
const NO_PAPER: &[u8] = b"\x02030,1,0,1245,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,4,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n";
const JOB: &[u8] = b"^XA\n^CI28\n^FO32,24^A0N,32,20^FH_^FD\xd0\x9a\xd0\xbe\xd1\x80\xd0\xbe\xd0\xb1\xd0\xba\xd0\xb0^FS\n^FO160,316^BY3^BCN,160,N,N,N,D^FD(00)046008400000000015^FS\n^XZ\n";

#[cfg(test)]
mod support {
    use super::*;

    /// A printer on 127.0.0.1 that answers `~HS` with `status` (or stays silent) and hands back
    /// every byte it got after the status request, once the client closes.
    pub fn fake_printer(status: Option<&'static [u8]>) -> (PrinterAddress, Receiver<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 5];
            stream.read_exact(&mut request).unwrap();
            assert_eq!(&request, b"~HS\r\n");
            if let Some(status) = status {
                stream.write_all(status).unwrap();
            }
            let mut job = Vec::new();
            let _ = stream.read_to_end(&mut job);
            tx.send(job).unwrap();
        });
        (
            PrinterAddress::Network {
                host: "127.0.0.1".into(),
                port,
            },
            rx,
        )
    }

    pub fn quick() -> PrinterTimeouts {
        PrinterTimeouts {
            connect: Duration::from_secs(2),
            status: Duration::from_millis(300),
            write: Duration::from_secs(2),
        }
    }
}

use support::{fake_printer, quick};

#[test]
fn a_ready_printer_gets_the_job_byte_for_byte() {
    let (printer, received) = fake_printer(Some(READY));
    print(&printer, JOB, quick()).unwrap();
    assert_eq!(received.recv().unwrap(), JOB);
}

#[test]
fn an_empty_roll_is_a_clear_message_and_the_job_is_not_sent() {
    let (printer, received) = fake_printer(Some(NO_PAPER));
    let error = print(&printer, JOB, quick()).unwrap_err();
    assert_eq!(error, PrintError::OutOfPaper);
    assert_eq!(error.code(), "printer_out_of_paper");
    assert!(error.message(Lang::Ru).contains("рулон"));
    assert_eq!(
        received.recv().unwrap(),
        b"",
        "nothing printed on an empty roll"
    );
}

#[test]
fn a_printer_that_is_off_is_unreachable() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let printer = PrinterAddress::Network {
        host: "127.0.0.1".into(),
        port,
    };
    let error = print(&printer, JOB, quick()).unwrap_err();
    assert_eq!(error.code(), "printer_unreachable", "{error}");
    assert!(
        error
            .message(Lang::En)
            .contains(&format!("tcp:127.0.0.1:{port}"))
    );
}

#[test]
fn a_print_server_that_never_answers_a_status_request_still_prints() {
    let (printer, received) = fake_printer(None);
    print(&printer, JOB, quick()).unwrap();
    assert_eq!(received.recv().unwrap(), JOB);
}

#[test]
fn a_printer_device_gets_the_job_and_a_missing_one_is_never_created() {
    let dir = std::env::temp_dir().join(format!("tally-printer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let device = dir.join("lp0");
    std::fs::write(&device, b"").unwrap();
    print(&PrinterAddress::Device(device.clone()), JOB, quick()).unwrap();
    assert_eq!(std::fs::read(&device).unwrap(), JOB);

    let unplugged = dir.join("lp1");
    let error = print(&PrinterAddress::Device(unplugged.clone()), JOB, quick()).unwrap_err();
    assert_eq!(error.code(), "printer_unreachable");
    assert!(!unplugged.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
