//! What the Redis tests share: the server they run against and a key
//! prefix no other test uses.

/// The Redis the suite runs against (`scripts/test.sh` sets it).
pub fn redis_url() -> String {
    std::env::var("HEARTH_TEST_REDIS").expect(
        "HEARTH_TEST_REDIS must name a Redis server (scripts/test.sh starts one and sets it)",
    )
}

/// A prefix of this test's own: `{kind}-{test}-{pid}-{nanos}:`.
pub fn prefix(kind: &str, test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("hearth-{kind}-test-{test}-{}-{nanos}:", std::process::id())
}
