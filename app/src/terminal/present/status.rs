//! The status line over every screen: who works, the link, the status list's age, the queue.

use tally_domain::status::Timestamp;
use tally_ui::{StatusLine, Tone};

use super::{Scene, format_age, operation_name};

pub fn view(scene: &Scene<'_>, online: bool) -> StatusLine {
    let (t, snapshot, now) = (scene.t, scene.snapshot, scene.now);
    let limit_ms = scene.settings.policy.max_cache_age_hours * 3_600_000;
    let cache_tone = match snapshot.cache_age_ms {
        None => Tone::Error,
        Some(age) if age >= limit_ms => Tone::Error,
        Some(age) if age * 4 >= limit_ms * 3 => Tone::Warning,
        Some(_) => Tone::Good,
    };
    let operator = scene.shift.operator();
    StatusLine {
        operator: operator.map(|o| o.name.clone()).unwrap_or_default(),
        supervisor: scene.shift.is_supervisor(),
        online,
        cache_age: match snapshot.cache_age_ms {
            Some(age) => format_age(age, t),
            None => t.s("none"),
        },
        cache_tone,
        queued: i32::try_from(snapshot.queued).unwrap_or(i32::MAX),
        last_sync: match snapshot.last_sync {
            Some(Timestamp(at)) => t.f("sync {age} ago", &[("age", &format_age(now.0 - at, t))]),
            None => t.s("never synced"),
        },
        open_operation: scene
            .shift
            .open()
            .map(|s| operation_name(t, s))
            .unwrap_or_default(),
    }
}
