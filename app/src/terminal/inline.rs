//! The controller on the UI thread, without the desk thread: every action is handled and shown
//! before the call returns. UI tests drive the real screens this way; the terminal itself
//! uses the threaded wiring in `terminal`.

use std::cell::RefCell;
use std::rc::Rc;

use tally_domain::status::Timestamp;
use tally_ui::{Ui, View};

use super::controller::{Controller, Cue, Input, Request};
use super::lang_code;

type Clock = Rc<dyn Fn() -> Timestamp>;

pub struct Inline {
    controller: Rc<RefCell<Controller>>,
    show: Rc<dyn Fn(&View)>,
    clock: Clock,
    cues: Rc<RefCell<Vec<Cue>>>,
    requests: Rc<RefCell<Vec<Request>>>,
}

impl std::fmt::Debug for Inline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inline").finish_non_exhaustive()
    }
}

impl Inline {
    pub fn wire(
        ui: &Ui,
        controller: Controller,
        clock: impl Fn() -> Timestamp + 'static,
    ) -> Inline {
        let inline = Inline {
            controller: Rc::new(RefCell::new(controller)),
            show: Rc::new(ui.local_presenter()),
            clock: Rc::new(clock),
            cues: Rc::default(),
            requests: Rc::default(),
        };
        let view = inline.controller.borrow_mut().view((inline.clock)());
        (inline.show)(&view);
        let handler = inline.clone_parts();
        ui.on_action(move |action| handler.input(Input::Action(action)));
        inline
    }

    fn clone_parts(&self) -> Inline {
        Inline {
            controller: Rc::clone(&self.controller),
            show: Rc::clone(&self.show),
            clock: Rc::clone(&self.clock),
            cues: Rc::clone(&self.cues),
            requests: Rc::clone(&self.requests),
        }
    }

    /// Handles one input and shows the result.
    pub fn input(&self, input: Input) {
        let output = {
            // A callback raised while the controller is busy would be a re-entrant input:
            // Slint invokes callbacks only from event dispatch, never from a property set.
            let Ok(mut controller) = self.controller.try_borrow_mut() else {
                return;
            };
            controller.handle(input, (self.clock)())
        };
        (self.show)(&output.view);
        if let Some(cue) = output.cue {
            self.cues.borrow_mut().push(cue);
        }
        for request in output.requests {
            if let Request::Language(lang) = request {
                let _ = tally_ui::select_language(lang_code(lang));
            }
            self.requests.borrow_mut().push(request);
        }
    }

    /// A scan, as a scanner delivers it.
    pub fn scan(&self, payload: &str) {
        self.input(Input::Scan {
            payload: payload.as_bytes().to_vec(),
            source: "test".into(),
        });
    }

    /// The cues played so far, oldest first.
    pub fn cues(&self) -> Vec<Cue> {
        self.cues.borrow().clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.borrow().clone()
    }

    pub fn with_controller<R>(&self, f: impl FnOnce(&mut Controller) -> R) -> R {
        f(&mut self.controller.borrow_mut())
    }
}
