//! Spreading a run over the nodes of one cluster: which node each session
//! connects to and which node each message is posted through.
//!
//! Both go round robin over the nodes *within each guild*: a guild's k-th
//! session connects to node `k % N`, and its k-th message is posted through
//! node `k % N`. Counting within the guild rather than over the whole run
//! matters: sessions and messages are themselves dealt out to guilds round
//! robin, so with two guilds on two nodes a plain `n % N` would put every
//! session and every post of guild 0 on node 0, and no event would ever
//! cross nodes. Counted per guild, every guild has sessions on every node
//! and posts through every node, and with N nodes (N − 1) / N of the
//! deliveries cross from one node to another.
//!
//! With one node everything is on node 0, which is the single-node run.

/// The node message `message` is posted through, in a run of `guilds`
/// guilds on `nodes` nodes (message `i` is guild `i % guilds`'s message
/// number `i / guilds`).
pub fn node_of_message(message: usize, guilds: usize, nodes: usize) -> usize {
    (message / guilds.max(1)) % nodes.max(1)
}

/// Hands out nodes to sessions as they are started.
#[derive(Clone, Debug)]
pub struct Spread {
    nodes: usize,
    /// Per guild: the sessions placed so far.
    placed: Vec<usize>,
}

impl Spread {
    pub fn new(nodes: usize, guilds: usize) -> Spread {
        Spread {
            nodes: nodes.max(1),
            placed: vec![0; guilds.max(1)],
        }
    }

    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// The node for the next session of `guild`.
    pub fn place_session(&mut self, guild: usize) -> usize {
        let slot = guild % self.placed.len();
        let node = self.placed[slot] % self.nodes;
        self.placed[slot] += 1;
        node
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::default_users;

    /// (guild, node) of every session of a run, as the chat scenario
    /// places them: session `n` is user `n % users`'s, in guild `user % guilds`.
    fn place(sessions: usize, users: usize, guilds: usize, nodes: usize) -> Vec<(usize, usize)> {
        let mut spread = Spread::new(nodes, guilds);
        (0..sessions)
            .map(|n| {
                let guild = (n % users) % guilds;
                (guild, spread.place_session(guild))
            })
            .collect()
    }

    #[test]
    fn one_node_takes_everything() {
        assert!(place(50, 10, 3, 1).iter().all(|(_, node)| *node == 0));
        assert!((0..50).all(|i| node_of_message(i, 3, 1) == 0));
    }

    #[test]
    fn every_guild_has_sessions_on_every_node_even_when_guilds_match_nodes() {
        // Two guilds on two nodes: session n is in guild n % 2, so a plain
        // n % 2 would keep each guild on one node.
        let placed = place(40, default_users(40, 2), 2, 2);
        let mut count = [[0; 2]; 2];
        for (guild, node) in placed {
            count[guild][node] += 1;
        }
        assert_eq!(count, [[10, 10], [10, 10]]);
    }

    #[test]
    fn every_guild_posts_through_every_node() {
        let (guilds, nodes) = (2, 2);
        let mut count = [[0; 2]; 2];
        for i in 0..40 {
            count[i % guilds][node_of_message(i, guilds, nodes)] += 1;
        }
        assert_eq!(count, [[10, 10], [10, 10]]);
    }

    #[test]
    fn sessions_stay_balanced_over_nodes_with_uneven_sizes() {
        // 7 users in 3 guilds (3, 2 and 2 members), 3 nodes, 100 sessions.
        let placed = place(100, 7, 3, 3);
        for guild in 0..3 {
            let mut per_node = [0usize; 3];
            for (_, node) in placed.iter().filter(|(g, _)| *g == guild) {
                per_node[*node] += 1;
            }
            let (lo, hi) = (per_node.iter().min(), per_node.iter().max());
            assert!(
                hi.unwrap() - lo.unwrap() <= 1,
                "guild {guild}: {per_node:?}"
            );
        }
        let mut per_node = [0usize; 3];
        for (_, node) in &placed {
            per_node[*node] += 1;
        }
        assert_eq!(per_node.iter().sum::<usize>(), 100);
        assert!(
            per_node.iter().all(|n| (32..=35).contains(n)),
            "{per_node:?}"
        );
    }

    #[test]
    fn the_share_of_cross_node_deliveries_is_that_of_the_other_nodes() {
        // Two nodes, one guild of 10 sessions, 10 messages: each message
        // reaches 5 sessions on its own node and 5 on the other.
        let placed = place(10, 10, 1, 2);
        let cross: usize = (0..10)
            .map(|i| {
                placed
                    .iter()
                    .filter(|(_, node)| *node != node_of_message(i, 1, 2))
                    .count()
            })
            .sum();
        assert_eq!(cross, 50);
    }

    #[test]
    fn a_guild_out_of_range_is_placed_without_panicking() {
        let mut s = Spread::new(2, 1);
        assert_eq!(s.place_session(5), 0);
        assert_eq!(s.place_session(5), 1);
        assert_eq!(Spread::new(0, 0).place_session(0), 0);
        assert_eq!(node_of_message(3, 0, 0), 0);
    }
}
