//! Sound and vibration for verdicts: three sounds an operator tells apart without looking (a
//! short high beep, two middle beeps, a long low buzz) and matching vibration patterns, played
//! on their own thread so a slow sound card never delays the next scan.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use evdev::{FFEffectData, FFEffectKind, FFReplay, FFTrigger};

use super::controller::{Cue, CueTone};

const SAMPLE_RATE: u32 = 16_000;

/// One beep: frequency, length, then silence after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Beep {
    hz: u32,
    ms: u32,
    pause_ms: u32,
}

fn beeps(tone: CueTone) -> &'static [Beep] {
    match tone {
        CueTone::Good => &[Beep {
            hz: 1_800,
            ms: 90,
            pause_ms: 0,
        }],
        CueTone::Warning => &[
            Beep {
                hz: 900,
                ms: 110,
                pause_ms: 70,
            },
            Beep {
                hz: 900,
                ms: 110,
                pause_ms: 0,
            },
        ],
        CueTone::Error => &[Beep {
            hz: 260,
            ms: 600,
            pause_ms: 0,
        }],
    }
}

/// The cue's sound as a 16-bit mono WAV file. The error buzz is a square wave: it cuts through
/// warehouse noise where a sine would not.
pub fn wav(tone: CueTone) -> Vec<u8> {
    let mut samples: Vec<i16> = Vec::new();
    for beep in beeps(tone) {
        let n = SAMPLE_RATE * beep.ms / 1000;
        let period = SAMPLE_RATE as f32 / beep.hz as f32;
        for i in 0..n {
            let phase = (i as f32 % period) / period;
            // Fade in and out over 5 ms so the speaker does not click.
            let edge = (SAMPLE_RATE / 200) as f32;
            let envelope = (i as f32 / edge).min((n - i) as f32 / edge).min(1.0);
            let value = match tone {
                CueTone::Error => {
                    if phase < 0.5 {
                        1.0
                    } else {
                        -1.0
                    }
                }
                _ => (phase * std::f32::consts::TAU).sin(),
            };
            samples.push((value * envelope * 0.6 * f32::from(i16::MAX)) as i16);
        }
        samples.extend(std::iter::repeat_n(
            0,
            (SAMPLE_RATE * beep.pause_ms / 1000) as usize,
        ));
    }
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// The vibration pattern of a cue: (on, off) milliseconds.
pub fn vibration(tone: CueTone) -> &'static [(u16, u16)] {
    match tone {
        CueTone::Good => &[(60, 0)],
        CueTone::Warning => &[(120, 100), (120, 0)],
        CueTone::Error => &[(500, 0)],
    }
}

fn rumble(on_ms: u16) -> FFEffectData {
    FFEffectData {
        direction: 0,
        trigger: FFTrigger::default(),
        replay: FFReplay {
            length: on_ms,
            delay: 0,
        },
        kind: FFEffectKind::Rumble {
            strong_magnitude: 0xC000,
            weak_magnitude: 0x8000,
        },
    }
}

/// Where cues go.
#[derive(Clone, Debug)]
pub struct FeedbackSetup {
    /// Run with `sh -c`, the WAV on standard input (`aplay -q -` on the terminals).
    pub sound_command: String,
    pub vibration_device: Option<PathBuf>,
}

/// The feedback thread's handle; dropping it ends the thread.
#[derive(Debug)]
pub struct Feedback {
    cues: Option<Sender<Cue>>,
    thread: Option<JoinHandle<()>>,
}

impl Feedback {
    pub fn spawn(setup: FeedbackSetup) -> Feedback {
        let (cues, inbox) = channel();
        let thread = std::thread::Builder::new()
            .name("tally-feedback".into())
            .spawn(move || play_all(&setup, &inbox))
            .ok();
        Feedback {
            cues: Some(cues),
            thread,
        }
    }

    /// Queues a cue; never blocks the caller.
    pub fn cue(&self, cue: Cue) {
        if let Some(cues) = &self.cues {
            let _ = cues.send(cue);
        }
    }
}

impl Drop for Feedback {
    fn drop(&mut self) {
        self.cues = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn play_all(setup: &FeedbackSetup, inbox: &Receiver<Cue>) {
    let mut device = None;
    let mut warned = false;
    while let Ok(mut cue) = inbox.recv() {
        // Scans faster than the sounds: only the latest verdict is worth hearing.
        while let Ok(next) = inbox.try_recv() {
            cue = next;
        }
        if cue.sound
            && let Err(error) = play_sound(&setup.sound_command, cue.tone)
            && !warned
        {
            tracing::warn!("sound: {error}");
            warned = true;
        }
        if cue.vibrate
            && let Some(path) = &setup.vibration_device
        {
            if device.is_none() {
                device = evdev::Device::open(path)
                    .map_err(|e| tracing::warn!("vibration device {}: {e}", path.display()))
                    .ok();
            }
            if let Some(d) = device.as_mut()
                && let Err(error) = vibrate(d, cue.tone)
            {
                tracing::warn!("vibration: {error}");
                device = None;
            }
        }
    }
}

fn play_sound(command: &str, tone: CueTone) -> std::io::Result<()> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&wav(tone))?;
    }
    let status = child.wait()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{command:?} exited with {status}"
        )))
    }
}

fn vibrate(device: &mut evdev::Device, tone: CueTone) -> std::io::Result<()> {
    for &(on, off) in vibration(tone) {
        let mut effect = device.upload_ff_effect(rumble(on))?;
        effect.play(1)?;
        std::thread::sleep(std::time::Duration::from_millis(
            u64::from(on) + u64::from(off),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(wav: &[u8]) -> Vec<i16> {
        wav[44..]
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect()
    }

    /// Zero crossings per second of the sounding parts: the pitch.
    fn crossings(samples: &[i16]) -> usize {
        samples
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0) && w[0] != 0 && w[1] != 0)
            .count()
    }

    #[test]
    fn the_three_sounds_are_valid_wavs_and_differ_in_pitch_and_length() {
        let good = wav(CueTone::Good);
        let warning = wav(CueTone::Warning);
        let error = wav(CueTone::Error);
        for w in [&good, &warning, &error] {
            assert_eq!(&w[..4], b"RIFF");
            assert_eq!(&w[8..16], b"WAVEfmt ");
            let data_len = u32::from_le_bytes([w[40], w[41], w[42], w[43]]) as usize;
            assert_eq!(data_len + 44, w.len());
            assert_eq!(
                u32::from_le_bytes([w[4], w[5], w[6], w[7]]) as usize + 8,
                w.len()
            );
        }
        let (g, wa, e) = (samples(&good), samples(&warning), samples(&error));
        // Length: the error is the longest, the good beep the shortest.
        assert!(g.len() < wa.len() && wa.len() < e.len());
        // Pitch: good is high, error low.
        let pitch = |s: &[i16]| crossings(s) as f32 / s.len() as f32;
        assert!(
            pitch(&g) > 2.0 * pitch(&e),
            "{} vs {}",
            pitch(&g),
            pitch(&e)
        );
        // The warning is two beeps: a silent gap in the middle.
        let middle = &wa[wa.len() / 2 - 100..wa.len() / 2 + 100];
        assert!(middle.iter().all(|s| *s == 0));
        // Loud enough to hear.
        assert!(g.iter().map(|s| s.unsigned_abs()).max().unwrap() > 10_000);
    }

    #[test]
    fn vibration_patterns_differ() {
        assert_eq!(vibration(CueTone::Good).len(), 1);
        assert_eq!(vibration(CueTone::Warning).len(), 2);
        assert!(vibration(CueTone::Error)[0].0 > vibration(CueTone::Good)[0].0);
        let data = rumble(60);
        assert_eq!(data.replay.length, 60);
        assert!(matches!(data.kind, FFEffectKind::Rumble { .. }));
    }

    #[test]
    fn the_sound_command_gets_the_wav_on_standard_input() {
        let dir = std::env::temp_dir().join(format!("tally-sound-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("played.wav");
        let command = format!("cat > '{}'", out.display());
        play_sound(&command, CueTone::Warning).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), wav(CueTone::Warning));
        // A player that fails is reported, not ignored.
        assert!(play_sound("exit 3", CueTone::Good).is_err());
        // Through the thread, as the terminal does it.
        std::fs::remove_file(&out).unwrap();
        let feedback = Feedback::spawn(FeedbackSetup {
            sound_command: command,
            vibration_device: None,
        });
        feedback.cue(Cue {
            tone: CueTone::Error,
            sound: true,
            vibrate: true,
        });
        drop(feedback);
        assert_eq!(std::fs::read(&out).unwrap(), wav(CueTone::Error));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
