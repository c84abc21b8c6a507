//! Which SFU nodes a cluster has, and which of them hosts each voice
//! channel's room.
//!
//! Every node with an SFU announces itself every [`ANNOUNCE_EVERY`]: its
//! region, the voice endpoint clients connect to, its load, whether it
//! drains. An entry not renewed for [`ENTRY_LIFETIME`] (on Redis's clock)
//! is gone. A room lives on exactly one node: the key
//! `{prefix}sfu:room:{guild}:{channel}` names it, set by whichever node
//! placed the room first (compare-and-set, so two joins through two API
//! nodes agree) and kept alive by the hosting node while it holds the room.
//!
//! Keys: `{prefix}sfu:nodes` (hash: node → entry as JSON), `{prefix}sfu:seen`
//! (hash: node → last announcement, Redis milliseconds), and the room keys.

use std::collections::HashMap;
use std::time::Duration;

use hearth_model::Snowflake;
use rand::Rng;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};

use crate::BusError;

pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(2);
/// An entry older than this is a node that is gone.
pub const ENTRY_LIFETIME: Duration = Duration::from_secs(5);
/// A room key outlives the hosting node's last renewal by this much; a new
/// room's key covers the time until its first participant arrives.
pub const ROOM_LIFETIME: Duration = Duration::from_secs(10);
/// Entries of nodes gone this long are removed from the hashes.
const FORGET_AFTER_MS: u64 = 60_000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

const ANNOUNCE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], now)
local seen = redis.call('HGETALL', KEYS[2])
for i = 1, #seen, 2 do
  if now - tonumber(seen[i + 1]) > tonumber(ARGV[3]) then
    redis.call('HDEL', KEYS[1], seen[i])
    redis.call('HDEL', KEYS[2], seen[i])
  end
end
return now
";

const LIVE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seen = redis.call('HGETALL', KEYS[2])
local out = {}
for i = 1, #seen, 2 do
  if now - tonumber(seen[i + 1]) <= tonumber(ARGV[1]) then
    local e = redis.call('HGET', KEYS[1], seen[i])
    if e then out[#out + 1] = e end
  end
end
return out
";

/// Sets the room's node to ARGV[2] only if it is still ARGV[1] ('' for
/// none); returns the room's node after.
const CLAIM: &str = r"
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[1] == '') or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return ARGV[2]
end
return cur
";

/// Keeps the rooms the node hosts placed on it (taking back a key that
/// expired while it could not reach Redis); leaves rooms placed elsewhere.
const RENEW: &str = r"
local n = 0
for _, k in ipairs(KEYS) do
  local cur = redis.call('GET', k)
  if cur == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2])
    n = n + 1
  elseif cur == false then
    redis.call('SET', k, ARGV[1], 'PX', ARGV[2])
    n = n + 1
  end
end
return n
";

/// An SFU node as the cluster sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SfuEntry {
    /// The name voice tokens carry for this node.
    pub node: String,
    pub region: String,
    /// The voice gateway's address as clients get it (no scheme).
    pub endpoint: String,
    pub rooms: u32,
    pub participants: u32,
    /// RTP packets forwarded per second, lately.
    #[serde(default)]
    pub packets_per_sec: u64,
    /// How busy its SFU workers were lately, from 0 (idle) to 1.
    #[serde(default)]
    pub cpu: f32,
    /// Takes no new rooms.
    pub draining: bool,
    /// At its participant limit: takes no new rooms.
    #[serde(default)]
    pub full: bool,
}

/// A voice channel's room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomRef {
    pub guild: Snowflake,
    pub channel: Snowflake,
}

/// Regions' places on Earth (latitude, longitude in degrees), for sending a
/// room wanted in a region without SFU nodes to the nearest region with
/// some.
pub type Coordinates = HashMap<String, (f64, f64)>;

/// Where a new room should go.
#[derive(Debug, Clone, Copy)]
pub struct Preference<'a> {
    /// Regions in the order wanted: the channel's `rtc_region`, the joining
    /// user's, the placing node's.
    pub regions: &'a [&'a str],
    pub coordinates: &'a Coordinates,
}

#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    #[error("no SFU node is running (none announced itself in the last {}s)", ENTRY_LIFETIME.as_secs())]
    NoNode,
    #[error("the SFU registry did not answer: {0}")]
    Unavailable(String),
}

/// Great-circle distance in kilometres.
fn distance_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().min(1.0).asin()
}

/// Picks the node for a new room, among nodes neither draining nor full: those
/// of the first wanted region that has any; else those of the region
/// nearest the first wanted region whose place is known; else any. Of two
/// picked at random among them, the one with fewer participants (then
/// rooms).
pub fn choose<'a>(
    live: &'a [SfuEntry],
    want: &Preference<'_>,
    rng: &mut impl Rng,
) -> Option<&'a SfuEntry> {
    let open: Vec<&SfuEntry> = live.iter().filter(|e| !e.draining && !e.full).collect();
    let in_region =
        |r: &str| -> Vec<&'a SfuEntry> { open.iter().copied().filter(|e| e.region == r).collect() };
    for r in want.regions {
        let candidates = in_region(r);
        if !candidates.is_empty() {
            return lighter_of_two(&candidates, rng);
        }
    }
    let origin = want
        .regions
        .iter()
        .find_map(|r| want.coordinates.get(*r).copied());
    if let Some(origin) = origin {
        let nearest = open
            .iter()
            .filter_map(|e| {
                let at = want.coordinates.get(&e.region)?;
                Some((distance_km(origin, *at), &e.region))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((_, region)) = nearest {
            return lighter_of_two(&in_region(region), rng);
        }
    }
    lighter_of_two(&open, rng)
}

/// Power of two choices: of two candidates picked at random, the one with
/// fewer participants (then rooms).
fn lighter_of_two<'a>(candidates: &[&'a SfuEntry], rng: &mut impl Rng) -> Option<&'a SfuEntry> {
    match candidates.len() {
        0 => None,
        1 => Some(candidates[0]),
        n => {
            let a = rng.gen_range(0..n);
            let b = (a + rng.gen_range(1..n)) % n;
            let (x, y) = (candidates[a], candidates[b]);
            Some(if (y.participants, y.rooms) < (x.participants, x.rooms) {
                y
            } else {
                x
            })
        }
    }
}

pub struct SfuRegistry {
    conn: ConnectionManager,
    prefix: String,
    announce: redis::Script,
    live: redis::Script,
    claim: redis::Script,
    renew: redis::Script,
}

fn unavailable(e: impl std::fmt::Display) -> PlacementError {
    PlacementError::Unavailable(e.to_string())
}

impl SfuRegistry {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, BusError> {
        let (_, conn) = crate::remote::connect_to(url).await?;
        Ok(Self {
            conn,
            prefix: format!("{prefix}sfu:"),
            announce: redis::Script::new(ANNOUNCE),
            live: redis::Script::new(LIVE),
            claim: redis::Script::new(CLAIM),
            renew: redis::Script::new(RENEW),
        })
    }

    fn room_key(&self, room: RoomRef) -> String {
        format!("{}room:{}:{}", self.prefix, room.guild, room.channel)
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        call: &mut redis::ScriptInvocation<'_>,
    ) -> Result<T, PlacementError> {
        let mut conn = self.conn.clone();
        tokio::time::timeout(REQUEST_TIMEOUT, call.invoke_async(&mut conn))
            .await
            .map_err(|_| unavailable("timed out"))?
            .map_err(unavailable)
    }

    /// Says this node is alive, with its current load.
    pub async fn announce(&self, entry: &SfuEntry) -> Result<(), PlacementError> {
        let json = serde_json::to_string(entry).map_err(unavailable)?;
        let mut call = self.announce.prepare_invoke();
        call.key(format!("{}nodes", self.prefix))
            .key(format!("{}seen", self.prefix))
            .arg(&entry.node)
            .arg(json)
            .arg(FORGET_AFTER_MS);
        self.run::<i64>(&mut call).await.map(drop)
    }

    /// The nodes that announced themselves within [`ENTRY_LIFETIME`].
    pub async fn live(&self) -> Result<Vec<SfuEntry>, PlacementError> {
        let mut call = self.live.prepare_invoke();
        call.key(format!("{}nodes", self.prefix))
            .key(format!("{}seen", self.prefix))
            .arg(ENTRY_LIFETIME.as_millis() as u64);
        let raw: Vec<String> = self.run(&mut call).await?;
        Ok(raw
            .iter()
            .filter_map(|j| serde_json::from_str(j).ok())
            .collect())
    }

    /// The node hosting the room: the one it is placed on while that node
    /// lives (draining or not: a call in progress stays together), else a
    /// new one chosen by `want`.
    pub async fn place(
        &self,
        room: RoomRef,
        want: &Preference<'_>,
    ) -> Result<SfuEntry, PlacementError> {
        let key = self.room_key(room);
        // Another node may win each compare-and-set with a node this one
        // does not see yet; three rounds settle any such race.
        for _ in 0..3 {
            let live = self.live().await?;
            let mut conn = self.conn.clone();
            let holder: Option<String> = tokio::time::timeout(
                REQUEST_TIMEOUT,
                redis::cmd("GET").arg(&key).query_async(&mut conn),
            )
            .await
            .map_err(|_| unavailable("timed out"))?
            .map_err(unavailable)?;
            if let Some(h) = &holder {
                if let Some(e) = live.iter().find(|e| &e.node == h) {
                    return Ok(e.clone());
                }
            }
            let chosen = choose(&live, want, &mut rand::thread_rng())
                .ok_or(PlacementError::NoNode)?
                .clone();
            let mut call = self.claim.prepare_invoke();
            call.key(&key)
                .arg(holder.as_deref().unwrap_or(""))
                .arg(&chosen.node)
                .arg(ROOM_LIFETIME.as_millis() as u64);
            let winner: String = self.run(&mut call).await?;
            if winner == chosen.node {
                if let Some(previous) = holder {
                    tracing::info!(guild = %room.guild, channel = %room.channel, from = %previous, to = %chosen.node, "room re-placed: its node is gone");
                }
                return Ok(chosen);
            }
            if let Some(e) = live.into_iter().find(|e| e.node == winner) {
                return Ok(e);
            }
        }
        Err(unavailable("the room's placement kept changing"))
    }

    /// The secret voice tokens are signed with, the same on every node: the
    /// first node to ask makes it. (Whoever can read Redis can already
    /// impersonate any node, so it is no weaker there.)
    pub async fn shared_voice_secret(&self) -> Result<Vec<u8>, PlacementError> {
        let key = format!("{}voice-secret", self.prefix);
        let mine: String = (0..2)
            .map(|_| format!("{:032x}", rand::random::<u128>()))
            .collect();
        let mut conn = self.conn.clone();
        let (_, secret): (Option<String>, String) = tokio::time::timeout(
            REQUEST_TIMEOUT,
            redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(&key)
                .arg(&mine)
                .arg("NX")
                .cmd("GET")
                .arg(&key)
                .query_async(&mut conn),
        )
        .await
        .map_err(|_| unavailable("timed out"))?
        .map_err(unavailable)?;
        Ok(secret.into_bytes())
    }

    fn drain_key(&self, node: &str) -> String {
        format!("{}drain:{node}", self.prefix)
    }

    /// Asks `node` to drain (`hearth drain`): it sees the request within
    /// [`ANNOUNCE_EVERY`]. False if no live node has that name.
    pub async fn request_drain(&self, node: &str) -> Result<bool, PlacementError> {
        if !self.live().await?.iter().any(|e| e.node == node) {
            return Ok(false);
        }
        let mut conn = self.conn.clone();
        tokio::time::timeout(
            REQUEST_TIMEOUT,
            redis::cmd("SET")
                .arg(self.drain_key(node))
                .arg(1)
                .arg("EX")
                .arg(3600)
                .query_async::<()>(&mut conn),
        )
        .await
        .map_err(|_| unavailable("timed out"))?
        .map_err(unavailable)?;
        Ok(true)
    }

    /// Whether someone asked `node` to drain.
    pub async fn drain_requested(&self, node: &str) -> Result<bool, PlacementError> {
        let mut conn = self.conn.clone();
        tokio::time::timeout(
            REQUEST_TIMEOUT,
            redis::cmd("EXISTS")
                .arg(self.drain_key(node))
                .query_async::<bool>(&mut conn),
        )
        .await
        .map_err(|_| unavailable("timed out"))?
        .map_err(unavailable)
    }

    /// Takes `node` out of the registry at once (the end of a drain): its
    /// rooms are placed anew by whoever joins or moves them next.
    pub async fn leave(&self, node: &str) -> Result<(), PlacementError> {
        let mut conn = self.conn.clone();
        tokio::time::timeout(
            REQUEST_TIMEOUT,
            redis::pipe()
                .atomic()
                .cmd("HDEL")
                .arg(format!("{}nodes", self.prefix))
                .arg(node)
                .ignore()
                .cmd("HDEL")
                .arg(format!("{}seen", self.prefix))
                .arg(node)
                .ignore()
                .cmd("DEL")
                .arg(self.drain_key(node))
                .ignore()
                .query_async::<()>(&mut conn),
        )
        .await
        .map_err(|_| unavailable("timed out"))?
        .map_err(unavailable)
    }

    /// Keeps `rooms` placed on `node`; returns how many are.
    pub async fn renew(&self, node: &str, rooms: &[RoomRef]) -> Result<usize, PlacementError> {
        if rooms.is_empty() {
            return Ok(0);
        }
        let mut call = self.renew.prepare_invoke();
        for room in rooms {
            call.key(self.room_key(*room));
        }
        call.arg(node).arg(ROOM_LIFETIME.as_millis() as u64);
        let n: i64 = self.run(&mut call).await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn node(name: &str, region: &str, participants: u32) -> SfuEntry {
        SfuEntry {
            node: name.into(),
            region: region.into(),
            endpoint: format!("{name}.example:443/voice"),
            rooms: participants / 2,
            participants,
            packets_per_sec: 0,
            cpu: 0.0,
            draining: false,
            full: false,
        }
    }

    fn picks(live: &[SfuEntry], want: &Preference<'_>) -> Vec<String> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut names: Vec<String> = (0..200)
            .filter_map(|_| choose(live, want, &mut rng).map(|e| e.node.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn places() -> Coordinates {
        [
            ("eu", (50.1, 8.7)),
            ("us", (39.0, -77.5)),
            ("fr", (48.9, 2.3)),
            ("br", (-23.5, -46.6)),
        ]
        .into_iter()
        .map(|(r, c)| (r.to_string(), c))
        .collect()
    }

    #[test]
    fn a_room_goes_to_the_first_wanted_region_with_nodes_then_the_nearest_then_anywhere() {
        let live = vec![
            node("eu1", "eu", 0),
            node("eu2", "eu", 0),
            node("us1", "us", 0),
        ];
        let coordinates = places();
        let want = |regions| Preference {
            regions,
            coordinates: &coordinates,
        };
        assert_eq!(picks(&live, &want(&["us", "eu"])), vec!["us1"]);
        assert_eq!(picks(&live, &want(&["ap", "eu"])), vec!["eu1", "eu2"]);
        // No node in France: Frankfurt is nearer than Virginia; from São
        // Paulo, Virginia is.
        assert_eq!(picks(&live, &want(&["fr"])), vec!["eu1", "eu2"]);
        assert_eq!(picks(&live, &want(&["br"])), vec!["us1"]);
        // Nowhere known: any node.
        assert_eq!(picks(&live, &want(&["moon"])), vec!["eu1", "eu2", "us1"]);
        assert!(choose(&[], &want(&["us"]), &mut rand::thread_rng()).is_none());
        assert!((distance_km((50.1, 8.7), (48.9, 2.3)) - 480.0).abs() < 20.0);
    }

    #[test]
    fn draining_nodes_take_no_new_rooms() {
        let mut live = vec![node("eu1", "eu", 0), node("us1", "us", 0)];
        live[1].draining = true;
        let coordinates = places();
        let us = Preference {
            regions: &["us"],
            coordinates: &coordinates,
        };
        assert_eq!(picks(&live, &us), vec!["eu1"]);
        live[0].full = true;
        assert!(
            picks(&live, &us).is_empty(),
            "a full node takes no new rooms either"
        );
    }

    #[test]
    fn of_two_candidates_the_less_loaded_wins() {
        // With two nodes, every pick compares both: the idle one always wins.
        let live = vec![node("busy", "eu", 500), node("idle", "eu", 3)];
        let none = Coordinates::new();
        let anywhere = Preference {
            regions: &[],
            coordinates: &none,
        };
        assert_eq!(picks(&live, &anywhere), vec!["idle"]);
        // With many, the busiest is never picked (it loses every duel).
        let mut many: Vec<SfuEntry> = (0..5).map(|i| node(&format!("n{i}"), "eu", i)).collect();
        many.push(node("hot", "eu", 10_000));
        assert!(!picks(&many, &anywhere).contains(&"hot".to_string()));
    }
}
