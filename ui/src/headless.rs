//! A window without a display: Slint's software renderer drawing into memory, with a small event
//! loop. Screenshots come from it, and the scan-to-screen benchmark uses it to measure the same
//! renderer the terminal runs on its framebuffer.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use slint::Rgb8Pixel;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{EventLoopProxy, Platform, WindowAdapter, WindowEvent};
use slint::{EventLoopError, PhysicalSize, PlatformError};

enum Event {
    Invoke(Box<dyn FnOnce() + Send>),
    Quit,
}

struct Proxy(Sender<Event>);

impl EventLoopProxy for Proxy {
    fn quit_event_loop(&self) -> Result<(), EventLoopError> {
        self.0
            .send(Event::Quit)
            .map_err(|_| EventLoopError::EventLoopTerminated)
    }

    fn invoke_from_event_loop(
        &self,
        event: Box<dyn FnOnce() + Send>,
    ) -> Result<(), EventLoopError> {
        self.0
            .send(Event::Invoke(event))
            .map_err(|_| EventLoopError::EventLoopTerminated)
    }
}

struct Frame {
    width: usize,
    height: usize,
    pixels: Vec<Rgb8Pixel>,
}

type FrameHook = Box<dyn FnMut()>;

struct Shared {
    window: Rc<MinimalSoftwareWindow>,
    frame: RefCell<Frame>,
    after_frame: RefCell<Option<FrameHook>>,
}

impl Shared {
    fn render(&self) -> bool {
        let drawn = self.window.draw_if_needed(|renderer| {
            let mut frame = self.frame.borrow_mut();
            let stride = frame.width;
            renderer.render(&mut frame.pixels, stride);
        });
        if drawn && let Some(hook) = self.after_frame.borrow_mut().as_mut() {
            hook();
        }
        drawn
    }
}

struct HeadlessPlatform {
    shared: Rc<Shared>,
    sender: Sender<Event>,
    events: Receiver<Event>,
    start: Instant,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.shared.window.clone())
    }

    fn duration_since_start(&self) -> Duration {
        self.start.elapsed()
    }

    fn new_event_loop_proxy(&self) -> Option<Box<dyn EventLoopProxy>> {
        Some(Box::new(Proxy(self.sender.clone())))
    }

    fn run_event_loop(&self) -> Result<(), PlatformError> {
        loop {
            slint::platform::update_timers_and_animations();
            loop {
                match self.events.try_recv() {
                    Ok(Event::Invoke(f)) => f(),
                    Ok(Event::Quit) => return Ok(()),
                    Err(_) => break,
                }
            }
            slint::platform::update_timers_and_animations();
            self.shared.render();
            let wait = if self.shared.window.has_active_animations() {
                Duration::from_millis(16)
            } else {
                slint::platform::duration_until_next_timer_update()
                    .unwrap_or(Duration::from_secs(1))
            };
            match self.events.recv_timeout(wait) {
                Ok(Event::Invoke(f)) => f(),
                Ok(Event::Quit) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

/// The display-less window of this thread. One per process: Slint takes one platform.
pub struct Headless {
    shared: Rc<Shared>,
}

impl std::fmt::Debug for Headless {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let frame = self.shared.frame.borrow();
        f.debug_struct("Headless")
            .field("width", &frame.width)
            .field("height", &frame.height)
            .finish()
    }
}

impl Headless {
    /// Installs the headless platform with a panel of `width`×`height` physical pixels shown at
    /// `scale` (480×800 at 1.0; 720×1280 at 1.5, which lays out 480×853 logical pixels).
    pub fn install(width: u32, height: u32, scale: f32) -> Result<Headless, PlatformError> {
        // Every frame is drawn whole: the worst case of what the framebuffer needs.
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        let physical = PhysicalSize::new(width, height);
        window.dispatch_event(WindowEvent::ScaleFactorChanged {
            scale_factor: scale,
        });
        window.set_size(physical);
        let pixels = physical.width as usize * physical.height as usize;
        let shared = Rc::new(Shared {
            window,
            frame: RefCell::new(Frame {
                width: physical.width as usize,
                height: physical.height as usize,
                pixels: vec![Rgb8Pixel::default(); pixels],
            }),
            after_frame: RefCell::new(None),
        });
        let (sender, events) = mpsc::channel();
        slint::platform::set_platform(Box::new(HeadlessPlatform {
            shared: shared.clone(),
            sender,
            events,
            start: Instant::now(),
        }))
        .map_err(|e| PlatformError::Other(e.to_string()))?;
        Ok(Headless { shared })
    }

    /// Draws a frame if anything changed since the last; true when it drew.
    pub fn render(&self) -> bool {
        slint::platform::update_timers_and_animations();
        self.shared.render()
    }

    /// Called after every frame the event loop draws (the benchmark's stopwatch).
    pub fn set_after_frame(&self, hook: impl FnMut() + 'static) {
        *self.shared.after_frame.borrow_mut() = Some(Box::new(hook));
    }

    pub fn size(&self) -> (usize, usize) {
        let frame = self.shared.frame.borrow();
        (frame.width, frame.height)
    }

    /// The colour of one physical pixel of the last frame.
    pub fn pixel(&self, x: usize, y: usize) -> Option<[u8; 3]> {
        let frame = self.shared.frame.borrow();
        (x < frame.width && y < frame.height).then(|| {
            let p = frame.pixels[y * frame.width + x];
            [p.r, p.g, p.b]
        })
    }

    /// The last frame as a PNG file.
    pub fn save_png(&self, path: &Path) -> std::io::Result<()> {
        let frame = self.shared.frame.borrow();
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut encoder = png::Encoder::new(file, frame.width as u32, frame.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        let bytes: Vec<u8> = frame.pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
        writer
            .write_image_data(&bytes)
            .map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    }
}
