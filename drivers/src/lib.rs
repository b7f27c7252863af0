//! Scanner inputs: serial ports, USB-HID keyboard wedges and camera images, turned into scans.

pub mod scan;
pub mod serial;
pub mod serial_frame;
pub mod wedge;
pub mod wedge_device;
