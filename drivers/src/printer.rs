//! Label printers: a ZPL job to a network printer's raw port (9100) or to a printer device (a
//! USB printer's `/dev/usb/lp0`, a serial port), with the printer's state asked first where the
//! printer can answer, so an empty roll or an open head is a message and not a lost label.
//!
//! Zebra-compatible printers answer `~HS` (host status) on the raw port with three lines; the
//! first carries the paper-out and pause flags, the second the head-open and ribbon-out
//! flags. A device file cannot answer, so a job there is written and trusted.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use tally_domain::Lang;
use tally_domain::reason::Reason;
use thiserror::Error;

/// Where labels go: `tcp:HOST:PORT` (port 9100 when left out) or `device:PATH`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PrinterAddress {
    Network { host: String, port: u16 },
    Device(PathBuf),
}

impl FromStr for PrinterAddress {
    type Err = String;

    fn from_str(spec: &str) -> Result<PrinterAddress, String> {
        match spec.split_once(':') {
            Some(("tcp", rest)) if !rest.is_empty() => {
                let (host, port) = match rest.rsplit_once(':') {
                    Some((host, port)) if !host.is_empty() => (
                        host,
                        port.parse::<u16>()
                            .map_err(|_| format!("{spec:?}: {port:?} is not a port"))?,
                    ),
                    _ => (rest, 9100),
                };
                Ok(PrinterAddress::Network {
                    host: host.trim_matches(['[', ']']).to_string(),
                    port,
                })
            }
            Some(("device", path)) if !path.is_empty() => Ok(PrinterAddress::Device(path.into())),
            _ => Err(format!(
                "{spec:?}: expected tcp:HOST[:PORT] (a network printer) or device:PATH"
            )),
        }
    }
}

impl std::fmt::Display for PrinterAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrinterAddress::Network { host, port } => write!(f, "tcp:{host}:{port}"),
            PrinterAddress::Device(path) => write!(f, "device:{}", path.display()),
        }
    }
}

/// Why a label was not printed. Nothing is lost with it: the box stays in the journal and its
/// label can be printed again.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum PrintError {
    #[error("the printer {address} does not answer: {detail}")]
    Unreachable { address: String, detail: String },
    #[error("the printer is out of paper")]
    OutOfPaper,
    #[error("the printer's head is open")]
    HeadOpen,
    #[error("the printer is out of ribbon")]
    RibbonOut,
    #[error("the printer is paused")]
    Paused,
    #[error("the printer {address} failed while printing: {detail}")]
    Failed { address: String, detail: String },
}

impl Reason for PrintError {
    fn code(&self) -> &'static str {
        match self {
            PrintError::Unreachable { .. } => "printer_unreachable",
            PrintError::OutOfPaper => "printer_out_of_paper",
            PrintError::HeadOpen => "printer_head_open",
            PrintError::RibbonOut => "printer_ribbon_out",
            PrintError::Paused => "printer_paused",
            PrintError::Failed { .. } => "printer_failed",
        }
    }

    fn message(&self, lang: Lang) -> String {
        let again_en = "The box is kept; print its label again when the printer is ready.";
        let again_ru = "Короб сохранён; напечатайте этикетку ещё раз, когда принтер будет готов.";
        match (self, lang) {
            (PrintError::Unreachable { address, .. }, Lang::En) => {
                format!("The printer {address} does not answer: is it on and connected? {again_en}")
            }
            (PrintError::Unreachable { address, .. }, Lang::Ru) => {
                format!("Принтер {address} не отвечает: включён ли он и подключён ли? {again_ru}")
            }
            (PrintError::OutOfPaper, Lang::En) => {
                format!("The printer is out of labels: load a new roll. {again_en}")
            }
            (PrintError::OutOfPaper, Lang::Ru) => {
                format!("В принтере закончились этикетки: вставьте новый рулон. {again_ru}")
            }
            (PrintError::HeadOpen, Lang::En) => {
                format!("The printer's head is open: close it. {again_en}")
            }
            (PrintError::HeadOpen, Lang::Ru) => {
                format!("Печатающая головка принтера открыта: закройте её. {again_ru}")
            }
            (PrintError::RibbonOut, Lang::En) => {
                format!("The printer is out of ribbon: load a new one. {again_en}")
            }
            (PrintError::RibbonOut, Lang::Ru) => {
                format!("В принтере закончилась красящая лента: замените её. {again_ru}")
            }
            (PrintError::Paused, Lang::En) => {
                format!("The printer is paused: press its pause button. {again_en}")
            }
            (PrintError::Paused, Lang::Ru) => {
                format!("Принтер на паузе: нажмите на нём кнопку паузы. {again_ru}")
            }
            (PrintError::Failed { address, detail }, Lang::En) => {
                format!("The printer {address} failed while printing ({detail}). {again_en}")
            }
            (PrintError::Failed { address, detail }, Lang::Ru) => {
                format!("Принтер {address} сбился при печати ({detail}). {again_ru}")
            }
        }
    }
}

/// How long to wait for a printer at each step.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PrinterTimeouts {
    pub connect: Duration,
    /// For the answer to `~HS`; a printer or print server that never answers is printed to
    /// anyway, its state unknown.
    pub status: Duration,
    pub write: Duration,
}

impl Default for PrinterTimeouts {
    fn default() -> PrinterTimeouts {
        PrinterTimeouts {
            connect: Duration::from_secs(3),
            status: Duration::from_millis(1500),
            write: Duration::from_secs(10),
        }
    }
}

/// What `~HS` said, as far as printing goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct HostStatus {
    pub paper_out: bool,
    pub paused: bool,
    pub head_open: bool,
    pub ribbon_out: bool,
}

impl HostStatus {
    /// Reads the answer to `~HS`: `<STX>aaa,b,c,…<ETX><CR><LF>` three times; `b` is paper
    /// out and `c` pause in the first string, `o` (the third field) head up and `p` ribbon
    /// out in the second. `None` until both strings are whole.
    pub fn parse(answer: &[u8]) -> Option<HostStatus> {
        let text = String::from_utf8_lossy(answer);
        let mut strings = text
            .split('\u{2}')
            .filter_map(|s| s.split_once('\u{3}').map(|(body, _)| body));
        let first: Vec<&str> = strings.next()?.split(',').collect();
        let second: Vec<&str> = strings.next()?.split(',').collect();
        let flag = |fields: &[&str], at: usize| fields.get(at).is_some_and(|f| f.trim() == "1");
        if first.len() < 3 || second.len() < 4 {
            return None;
        }
        Some(HostStatus {
            paper_out: flag(&first, 1),
            paused: flag(&first, 2),
            head_open: flag(&second, 2),
            ribbon_out: flag(&second, 3),
        })
    }

    fn refusal(self) -> Option<PrintError> {
        if self.paper_out {
            Some(PrintError::OutOfPaper)
        } else if self.head_open {
            Some(PrintError::HeadOpen)
        } else if self.ribbon_out {
            Some(PrintError::RibbonOut)
        } else if self.paused {
            Some(PrintError::Paused)
        } else {
            None
        }
    }
}

/// Sends one job (a ZPL label) to the printer, after asking its state where it can answer.
pub fn print(
    address: &PrinterAddress,
    job: &[u8],
    timeouts: PrinterTimeouts,
) -> Result<(), PrintError> {
    match address {
        PrinterAddress::Network { host, port } => {
            print_network(address, host, *port, job, timeouts)
        }
        PrinterAddress::Device(path) => {
            let failed = |e: std::io::Error| PrintError::Unreachable {
                address: address.to_string(),
                detail: e.to_string(),
            };
            // Never create the path: a missing device is an unplugged printer, not a file to
            // fill.
            let mut device = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(failed)?;
            device
                .write_all(job)
                .and_then(|()| device.flush())
                .map_err(|e| PrintError::Failed {
                    address: address.to_string(),
                    detail: e.to_string(),
                })
        }
    }
}

fn print_network(
    address: &PrinterAddress,
    host: &str,
    port: u16,
    job: &[u8],
    timeouts: PrinterTimeouts,
) -> Result<(), PrintError> {
    let unreachable = |detail: String| PrintError::Unreachable {
        address: address.to_string(),
        detail,
    };
    let targets: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| unreachable(e.to_string()))?
        .collect();
    let mut last = "no address".to_string();
    let mut stream = None;
    for target in targets {
        match TcpStream::connect_timeout(&target, timeouts.connect) {
            Ok(connected) => {
                stream = Some(connected);
                break;
            }
            Err(e) => last = e.to_string(),
        }
    }
    let mut stream = stream.ok_or_else(|| unreachable(last))?;
    let failed = |e: std::io::Error| PrintError::Failed {
        address: address.to_string(),
        detail: e.to_string(),
    };
    stream
        .set_write_timeout(Some(timeouts.write))
        .map_err(failed)?;
    stream.write_all(b"~HS\r\n").map_err(failed)?;
    if let Some(status) = read_status(&mut stream, timeouts.status)
        && let Some(refusal) = status.refusal()
    {
        return Err(refusal);
    }
    stream.write_all(job).map_err(failed)?;
    stream.flush().map_err(failed)?;
    // The printer reads until the connection closes; shutting down our side says the job is
    // whole.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Ok(())
}

/// The printer's answer to `~HS`, if it gives one within `wait`.
fn read_status(stream: &mut TcpStream, wait: Duration) -> Option<HostStatus> {
    let until = Instant::now() + wait;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 256];
    loop {
        let left = until.checked_duration_since(Instant::now())?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        match stream.read(&mut buffer) {
            Ok(0) => return None,
            Ok(n) => {
                answer.extend_from_slice(&buffer[..n]);
                if let Some(status) = HostStatus::parse(&answer) {
                    return Some(status);
                }
                if answer.len() > 4096 {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_from_their_specs() {
        assert_eq!(
            "tcp:10.0.0.7".parse(),
            Ok(PrinterAddress::Network {
                host: "10.0.0.7".into(),
                port: 9100
            })
        );
        assert_eq!(
            "tcp:printer.local:6101".parse(),
            Ok(PrinterAddress::Network {
                host: "printer.local".into(),
                port: 6101
            })
        );
        assert_eq!(
            "device:/dev/usb/lp0".parse(),
            Ok(PrinterAddress::Device("/dev/usb/lp0".into()))
        );
        for bad in ["tcp:", "lpt1", "tcp:host:port", "device:"] {
            assert!(bad.parse::<PrinterAddress>().is_err(), "{bad}");
        }
    }

    #[test]
    fn host_status_flags_are_read_from_both_strings() {
        let ok = b"\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,4,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n";
        assert_eq!(HostStatus::parse(ok), Some(HostStatus::default()));
        let empty_roll = b"\x02030,1,0,1245,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,4,0,00000000,1,000\x03\r\n";
        assert_eq!(
            HostStatus::parse(empty_roll).unwrap().refusal(),
            Some(PrintError::OutOfPaper)
        );
        let head_up = b"\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,1,0,0,2,4,0,00000000,1,000\x03\r\n";
        assert_eq!(
            HostStatus::parse(head_up).unwrap().refusal(),
            Some(PrintError::HeadOpen)
        );
        let paused = b"\x02030,0,1,1245,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,4,0,00000000,1,000\x03\r\n";
        assert_eq!(
            HostStatus::parse(paused).unwrap().refusal(),
            Some(PrintError::Paused)
        );
        // Half an answer is no answer yet.
        assert_eq!(HostStatus::parse(b"\x02030,0,0,1245"), None);
    }

    #[test]
    fn every_refusal_has_a_code_and_both_languages() {
        let all = [
            PrintError::Unreachable {
                address: "tcp:x:9100".into(),
                detail: "refused".into(),
            },
            PrintError::OutOfPaper,
            PrintError::HeadOpen,
            PrintError::RibbonOut,
            PrintError::Paused,
            PrintError::Failed {
                address: "device:/dev/usb/lp0".into(),
                detail: "EIO".into(),
            },
        ];
        for error in all {
            assert!(error.code().starts_with("printer_"));
            assert!(error.message(Lang::En).contains("again"));
            assert!(error.message(Lang::Ru).contains("ещё раз"));
        }
    }
}
