//! The gateway's view of membership never lags a committed kick or ban: a
//! member removed right after joining by invite receives nothing more of
//! the guild on an open session, however the removal races the join's
//! subscription.

use crate::gateway_client::{intents, login, EVENT_TIMEOUT, QUIET};
use crate::harness::{str_field, World};

const MSGS: u64 = intents::GUILDS | intents::GUILD_MESSAGES;
const ROUNDS: usize = 60;
/// The joiner's sessions: each is subscribed in turn after a join, which
/// widens the window a removal can fall into.
const SESSIONS: usize = 4;

async fn removed_right_after_joining_hears_nothing_more(ban: bool) {
    let w = World::new().await;
    let joiner = w.api.register("joiner").await;
    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        sessions.push(login(&w.api, &joiner, MSGS).await);
    }
    let invite = w
        .api
        .create_invite(&w.owner, &w.general, serde_json::json!({"max_age": 0}))
        .await;
    let code = str_field(&invite, "code");
    for round in 0..ROUNDS {
        w.api.join(&joiner, &code).await.expect(200);
        if ban {
            w.api
                .put(&w.g(&format!("/bans/{}", joiner.id)), w.owner.auth(), None)
                .await
                .expect(204);
            w.api
                .delete(&w.g(&format!("/bans/{}", joiner.id)), w.owner.auth())
                .await
                .expect(204);
        } else {
            w.api
                .delete(&w.g(&format!("/members/{}", joiner.id)), w.owner.auth())
                .await
                .expect(204);
        }
        // Queued for every recipient before the POST returns.
        w.api
            .send(&w.owner, &w.general, &format!("after removal {round}"))
            .await;
    }
    for gw in &mut sessions {
        gw.expect_no_dispatch("MESSAGE_CREATE", QUIET).await;
        // The rounds' GUILD_CREATEs and GUILD_DELETEs, out of the way.
        gw.collect(std::time::Duration::ZERO).await;
    }
    // The sessions themselves are fine, and a member who stays hears messages.
    w.api.join(&joiner, &code).await.expect(200);
    for gw in &mut sessions {
        gw.expect_dispatch_where(
            "GUILD_CREATE",
            |d| d["id"] == w.guild_id.as_str(),
            EVENT_TIMEOUT,
        )
        .await;
    }
    w.api.send(&w.owner, &w.general, "welcome back").await;
    for gw in &mut sessions {
        let d = gw.expect_dispatch("MESSAGE_CREATE", EVENT_TIMEOUT).await.d;
        assert_eq!(d["content"], "welcome back");
    }
}

#[tokio::test]
async fn a_member_kicked_right_after_joining_receives_no_more_messages() {
    removed_right_after_joining_hears_nothing_more(false).await;
}

#[tokio::test]
async fn a_member_banned_right_after_joining_receives_no_more_messages() {
    removed_right_after_joining_hears_nothing_more(true).await;
}
