//! The touch UI of the terminal: every Slint file and every Slint type lives here.
