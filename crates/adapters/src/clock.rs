//! The run's clock and dice: the only places the runner reads the time of day or draws a
//! random id (so the rest reads them from here, and the core never does).

pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Six random hex digits: run ids and app domains (`<recipe>-<hex>`).
pub fn new_hex6() -> String {
    use rand::Rng;
    format!("{:06x}", rand::rng().random_range(0..0x100_0000u32))
}
