//! Scanner inputs (serial ports, USB-HID keyboard wedges, cameras and images, turned into
//! scans) and label printers (ZPL jobs, and the PNG preview of a label).

pub mod image;
pub mod label;
pub mod printer;
pub mod scan;
pub mod script;
pub mod serial;
pub mod serial_frame;
pub mod wedge;
pub mod wedge_device;
