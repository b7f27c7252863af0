//! The sync thread: waits for triggers (the terminal docked, the network came up, the timer,
//! the operator's button), runs one round per wake-up and reports over a channel.
//!
//! Triggers that arrive while a round runs are folded into one next round: ten "network up"
//! events while the Wi-Fi flaps need one round, not ten.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::{Progress, RoundSummary, SyncError};

/// Why a round starts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Trigger {
    Docked,
    NetworkUp,
    Timer,
    Operator,
}

/// What the worker tells the UI.
#[derive(Debug)]
pub enum WorkerEvent {
    Started(Trigger),
    Progress(Progress),
    /// The round's summary, or why it stopped (as text: the UI shows it, nothing matches on it).
    Finished(Result<RoundSummary, String>),
}

/// One round, reporting progress through the callback it is given.
type Round = dyn FnMut(&mut dyn FnMut(Progress)) -> Result<RoundSummary, SyncError>;

enum Command {
    Run(Trigger),
    Stop,
}

/// The handle of the sync thread. Dropping it stops the thread after its current round.
#[derive(Debug)]
pub struct SyncWorker {
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl SyncWorker {
    /// Starts the thread. `round` runs one round (usually `SyncEngine::round` on the
    /// thread's own `Store`); `every` adds timer rounds when no trigger came for that long.
    pub fn spawn<R>(
        mut round: R,
        events: Sender<WorkerEvent>,
        every: Option<Duration>,
    ) -> SyncWorker
    where
        R: FnMut(&mut dyn FnMut(Progress)) -> Result<RoundSummary, SyncError> + Send + 'static,
    {
        let (commands, inbox) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("tally-sync".into())
            .spawn(move || run(&mut round, &inbox, &events, every))
            .ok();
        SyncWorker { commands, thread }
    }

    /// Asks for a round; `false` when the thread is gone.
    pub fn trigger(&self, trigger: Trigger) -> bool {
        self.thread.is_some() && self.commands.send(Command::Run(trigger)).is_ok()
    }

    /// Stops after the current round and waits for the thread.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SyncWorker {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn run(
    round: &mut Round,
    inbox: &Receiver<Command>,
    events: &Sender<WorkerEvent>,
    every: Option<Duration>,
) {
    let mut pending: Option<Trigger> = None;
    loop {
        let trigger = match pending.take() {
            Some(trigger) => trigger,
            None => {
                let command = match every {
                    Some(every) => match inbox.recv_timeout(every) {
                        Ok(command) => command,
                        Err(RecvTimeoutError::Timeout) => Command::Run(Trigger::Timer),
                        Err(RecvTimeoutError::Disconnected) => return,
                    },
                    None => match inbox.recv() {
                        Ok(command) => command,
                        Err(_) => return,
                    },
                };
                match command {
                    Command::Run(trigger) => trigger,
                    Command::Stop => return,
                }
            }
        };
        let _ = events.send(WorkerEvent::Started(trigger));
        let result = round(&mut |progress| {
            let _ = events.send(WorkerEvent::Progress(progress));
        });
        let _ = events.send(WorkerEvent::Finished(result.map_err(|e| e.to_string())));
        // Fold what queued up during the round into one next round.
        loop {
            match inbox.try_recv() {
                Ok(Command::Run(trigger)) => {
                    pending.get_or_insert(trigger);
                }
                Ok(Command::Stop) | Err(mpsc::TryRecvError::Disconnected) => return,
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A round that reports one progress step, then waits for the test to let it finish.
    fn gated(
        gate: Receiver<()>,
        rounds: Sender<()>,
    ) -> impl FnMut(&mut dyn FnMut(Progress)) -> Result<RoundSummary, SyncError> + Send + 'static
    {
        move |progress| {
            progress(Progress::Push { sent: 0, total: 0 });
            let _ = rounds.send(());
            gate.recv().unwrap();
            Ok(RoundSummary::default())
        }
    }

    #[test]
    fn a_trigger_runs_a_round_and_reports_it() {
        let (events_tx, events) = mpsc::channel();
        let (gate_tx, gate) = mpsc::channel();
        let (rounds_tx, _rounds) = mpsc::channel();
        let worker = SyncWorker::spawn(gated(gate, rounds_tx), events_tx, None);
        assert!(worker.trigger(Trigger::Docked));
        assert!(matches!(
            events.recv().unwrap(),
            WorkerEvent::Started(Trigger::Docked)
        ));
        assert!(matches!(
            events.recv().unwrap(),
            WorkerEvent::Progress(Progress::Push { .. })
        ));
        gate_tx.send(()).unwrap();
        assert!(matches!(
            events.recv().unwrap(),
            WorkerEvent::Finished(Ok(_))
        ));
        worker.stop();
        assert!(
            events.recv().is_err(),
            "the thread is gone and sent nothing more"
        );
    }

    #[test]
    fn triggers_during_a_round_fold_into_one_more_round() {
        let (events_tx, events) = mpsc::channel();
        let (gate_tx, gate) = mpsc::channel();
        let (rounds_tx, rounds) = mpsc::channel();
        let worker = SyncWorker::spawn(gated(gate, rounds_tx), events_tx, None);
        worker.trigger(Trigger::Operator);
        rounds.recv().unwrap(); // the first round is running
        worker.trigger(Trigger::NetworkUp);
        worker.trigger(Trigger::Docked);
        worker.trigger(Trigger::Timer);
        gate_tx.send(()).unwrap();
        rounds.recv().unwrap(); // the folded round is running
        gate_tx.send(()).unwrap();
        worker.stop();
        let started: Vec<Trigger> = events
            .iter()
            .filter_map(|e| match e {
                WorkerEvent::Started(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(started, [Trigger::Operator, Trigger::NetworkUp]);
        assert!(rounds.try_recv().is_err(), "exactly two rounds ran");
    }

    #[test]
    fn a_failed_round_is_reported_and_the_worker_goes_on() {
        let (events_tx, events) = mpsc::channel();
        let mut calls = 0;
        let worker = SyncWorker::spawn(
            move |_: &mut dyn FnMut(Progress)| {
                calls += 1;
                if calls == 1 {
                    Err(SyncError::AnswerMismatch {
                        sent: 1,
                        answers: 0,
                    })
                } else {
                    Ok(RoundSummary::default())
                }
            },
            events_tx,
            None,
        );
        worker.trigger(Trigger::Operator);
        assert!(matches!(events.recv().unwrap(), WorkerEvent::Started(_)));
        assert!(matches!(
            events.recv().unwrap(),
            WorkerEvent::Finished(Err(_))
        ));
        worker.trigger(Trigger::Operator);
        assert!(matches!(events.recv().unwrap(), WorkerEvent::Started(_)));
        assert!(matches!(
            events.recv().unwrap(),
            WorkerEvent::Finished(Ok(_))
        ));
    }
}
