//! Scanner inputs: serial ports, USB-HID keyboard wedges and camera images, turned into scans.

pub mod image;
pub mod scan;
pub mod script;
pub mod serial;
pub mod serial_frame;
pub mod wedge;
pub mod wedge_device;
