use std::sync::Arc;

use hearth_model::{message_type, ChannelType, Embed, Message, Snowflake};
use hearth_store::{CallsOn, MessageHas, MessageSearch, SearchIn, Store};

use super::backend::Backend;
use super::fixtures::{channel, id, message, now, user, world};

async fn found(s: &dyn Store, search: MessageSearch) -> (u64, Vec<String>) {
    let hits = s.search_messages(&search).await.unwrap();
    let contents = hits.messages.into_iter().map(|m| m.content).collect();
    (hits.total, contents)
}

fn words(ws: &[&str]) -> Vec<String> {
    ws.iter().map(|w| w.to_string()).collect()
}

pub async fn search_finds_whole_words_in_the_channels_given(b: Arc<Backend>) {
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let other = user(s, "other").await;
    let w = world(s, owner.clone()).await;
    let secret = channel(w.guild.id, ChannelType::Text, "secret");
    s.create_channel(&secret, 10).await.unwrap();
    let post = |c, author, text: &str| message(&w, c, author, id(), text);
    let lunch = post(&w.text, &owner, "Lunch at the Harbour café?");
    let mut late = post(&w.text, &other, "lunch is LATE today, don't wait");
    late.mentions = vec![owner.clone()];
    let link = post(&w.text, &other, "menu: https://example.com/lunch");
    let mut embedded = post(&w.text, &owner, "see the lunch card");
    embedded.embeds = vec![Embed {
        title: Some("Lunch".to_owned()),
        ..Embed::default()
    }];
    let hidden = post(&secret, &owner, "secret lunch plans");
    let mut notice = post(&w.text, &owner, "lunch");
    notice.kind = message_type::CHANNEL_PINNED_MESSAGE;
    let lunches: [&Message; 6] = [&lunch, &late, &link, &embedded, &hidden, &notice];
    for m in lunches {
        s.insert_message(m).await.unwrap();
    }
    let general = MessageSearch {
        scope: SearchIn::Channels(vec![w.text.id]),
        limit: 25,
        ..MessageSearch::default()
    };

    // Whole words, any case; the other channel and the notice stay out.
    let (total, hits) = found(
        s,
        MessageSearch {
            words: words(&["LUNCH"]),
            ..general.clone()
        },
    )
    .await;
    assert_eq!(total, 4);
    assert_eq!(
        hits,
        [
            "see the lunch card",
            "menu: https://example.com/lunch",
            "lunch is LATE today, don't wait",
            "Lunch at the Harbour café?"
        ]
    );
    assert_eq!(
        found(
            s,
            MessageSearch {
                words: words(&["lun"]),
                ..general.clone()
            }
        )
        .await
        .0,
        0
    );
    // Every word is needed; a word of two tokens is that phrase.
    let (_, hits) = found(
        s,
        MessageSearch {
            words: words(&["lunch", "late"]),
            ..general.clone()
        },
    )
    .await;
    assert_eq!(hits, ["lunch is LATE today, don't wait"]);
    assert_eq!(
        found(
            s,
            MessageSearch {
                words: words(&["don't"]),
                ..general.clone()
            }
        )
        .await
        .0,
        1
    );
    assert_eq!(
        found(
            s,
            MessageSearch {
                words: words(&["t", "don"]),
                ..general.clone()
            }
        )
        .await
        .0,
        1
    );
    // What would be query syntax is only text.
    for hostile in [
        r#"lunch" OR "x"#,
        "NEAR(lunch late)",
        "lunch*",
        "-lunch",
        "content:lunch",
        "(lunch",
        "\"\"\"",
    ] {
        let hits = s
            .search_messages(&MessageSearch {
                words: words(&[hostile]),
                ..general.clone()
            })
            .await
            .unwrap_or_else(|e| panic!("{hostile}: {e}"));
        assert!(hits.total <= 4, "{hostile}");
    }

    // Filters beside the words.
    let by = |authors: Vec<Snowflake>| MessageSearch {
        authors,
        ..general.clone()
    };
    assert_eq!(found(s, by(vec![other.id])).await.0, 2);
    assert_eq!(found(s, by(vec![other.id, owner.id])).await.0, 4);
    let (_, hits) = found(
        s,
        MessageSearch {
            mentions: vec![owner.id],
            ..general.clone()
        },
    )
    .await;
    assert_eq!(hits, ["lunch is LATE today, don't wait"]);
    let (_, hits) = found(
        s,
        MessageSearch {
            has: vec![MessageHas::Link],
            ..general.clone()
        },
    )
    .await;
    assert_eq!(hits, ["menu: https://example.com/lunch"]);
    let (_, hits) = found(
        s,
        MessageSearch {
            has: vec![MessageHas::Embed],
            ..general.clone()
        },
    )
    .await;
    assert_eq!(hits, ["see the lunch card"]);
    assert_eq!(
        found(
            s,
            MessageSearch {
                has: vec![MessageHas::File],
                ..general.clone()
            }
        )
        .await
        .0,
        0
    );
    let (_, hits) = found(
        s,
        MessageSearch {
            after: Some(late.id),
            before: Some(embedded.id),
            ..general.clone()
        },
    )
    .await;
    assert_eq!(hits, ["menu: https://example.com/lunch"]);
    s.pin_message(w.text.id, lunch.id, now(), 50).await.unwrap();
    let (_, hits) = found(
        s,
        MessageSearch {
            pinned: Some(true),
            ..general.clone()
        },
    )
    .await;
    assert_eq!(hits, ["Lunch at the Harbour café?"]);
    assert_eq!(
        found(
            s,
            MessageSearch {
                pinned: Some(false),
                ..general.clone()
            }
        )
        .await
        .0,
        3
    );

    // Pages: the total stays, the window moves; oldest first on request.
    let page = |offset, limit, oldest_first| MessageSearch {
        words: words(&["lunch"]),
        offset,
        limit,
        oldest_first,
        ..general.clone()
    };
    let (total, hits) = found(s, page(1, 2, false)).await;
    assert_eq!((total, hits.len()), (4, 2));
    assert_eq!(hits[0], "menu: https://example.com/lunch");
    let (_, hits) = found(s, page(0, 1, true)).await;
    assert_eq!(hits, ["Lunch at the Harbour café?"]);
    assert_eq!(found(s, page(10, 2, false)).await, (4, Vec::new()));

    // Both channels when both are given; none when none are.
    let both = MessageSearch {
        scope: SearchIn::Channels(vec![w.text.id, secret.id]),
        words: words(&["plans"]),
        limit: 25,
        ..MessageSearch::default()
    };
    assert_eq!(found(s, both).await.0, 1);
    assert_eq!(
        found(
            s,
            MessageSearch {
                words: words(&["lunch"]),
                limit: 25,
                ..MessageSearch::default()
            }
        )
        .await
        .0,
        0
    );

    // The whole guild: both channels, not another guild's.
    let elsewhere = world(s, owner.clone()).await;
    let far = message(&elsewhere, &elsewhere.text, &owner, id(), "lunch elsewhere");
    s.insert_message(&far).await.unwrap();
    let guild = |words: Vec<String>, authors| MessageSearch {
        scope: SearchIn::Guild(w.guild.id),
        words,
        authors,
        limit: 25,
        ..MessageSearch::default()
    };
    assert_eq!(found(s, guild(words(&["lunch"]), Vec::new())).await.0, 5);
    assert_eq!(found(s, guild(Vec::new(), vec![owner.id])).await.0, 3);
    assert_eq!(
        found(s, guild(words(&["lunch"]), vec![other.id])).await.0,
        2
    );

    // Calling on someone: by name, by a role, or everyone; not their own.
    let crew = id();
    let mut by_role = message(&w, &w.text, &owner, id(), "crew, stand up");
    by_role.mention_roles = vec![crew];
    let mut all = message(&w, &w.text, &other, id(), "everyone, stand up");
    all.mention_everyone = true;
    let mut own = message(&w, &w.text, &owner, id(), "note to self");
    own.mentions = vec![owner.clone()];
    for m in [&by_role, &all, &own] {
        s.insert_message(m).await.unwrap();
    }
    let calls = |roles: Vec<Snowflake>, everyone| MessageSearch {
        calling: Some(CallsOn {
            user: owner.id,
            roles,
            everyone,
        }),
        not_by: Some(owner.id),
        ..general.clone()
    };
    let (_, hits) = found(s, calls(Vec::new(), false)).await;
    assert_eq!(hits, ["lunch is LATE today, don't wait"]);
    let (_, hits) = found(s, calls(vec![crew], true)).await;
    assert_eq!(
        hits,
        ["everyone, stand up", "lunch is LATE today, don't wait"]
    );
    let (_, hits) = found(
        s,
        MessageSearch {
            calling: Some(CallsOn {
                user: other.id,
                roles: vec![crew],
                everyone: false,
            }),
            ..general.clone()
        },
    )
    .await;
    assert_eq!(hits, ["crew, stand up"]);

    // Edits and deletes reach the index.
    let mut edited = late.clone();
    edited.content = "dinner instead".to_owned();
    edited.edited_timestamp = Some(now());
    assert!(s
        .update_message(&edited, late.edited_timestamp)
        .await
        .unwrap());
    assert_eq!(
        found(
            s,
            MessageSearch {
                words: words(&["late"]),
                ..general.clone()
            }
        )
        .await
        .0,
        0
    );
    assert_eq!(
        found(
            s,
            MessageSearch {
                words: words(&["dinner"]),
                ..general.clone()
            }
        )
        .await
        .0,
        1
    );
    s.delete_message(w.text.id, lunch.id).await.unwrap();
    assert_eq!(
        found(
            s,
            MessageSearch {
                words: words(&["harbour"]),
                ..general.clone()
            }
        )
        .await
        .0,
        0
    );
    s.delete_channel(secret.id).await.unwrap();
    let gone = MessageSearch {
        scope: SearchIn::Channels(vec![secret.id]),
        words: words(&["secret"]),
        limit: 25,
        ..MessageSearch::default()
    };
    assert_eq!(found(s, gone).await.0, 0);
}
