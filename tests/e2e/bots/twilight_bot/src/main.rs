//! A twilight bot, unmodified library code pointed at a Hearth server by
//! twilight's documented settings (`ClientBuilder::proxy` for REST,
//! `ConfigBuilder::proxy_url` for the gateway). It does what the discord.js
//! interactions bot does, with the same words: registers guild slash
//! commands, answers them (a reply with a button, a deferred reply and a
//! follow-up, an ephemeral reply, a modal), updates its message when the
//! button is clicked, reacts to its own reply and notices a user's
//! reaction. It prints each step and exits 0 once the modal's answer is
//! sent; any failure exits non-zero with the reason.
//!
//! Environment: HEARTH_HOST (host:port), HEARTH_BOT_TOKEN, HEARTH_GUILD_ID.

use std::time::Duration;

use twilight_gateway::{
    ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt as _,
};
use twilight_http::request::channel::reaction::RequestReactionType;
use twilight_http::Client;
use twilight_model::application::command::CommandType;
use twilight_model::application::interaction::application_command::CommandOptionValue;
use twilight_model::application::interaction::modal::ModalInteractionComponent;
use twilight_model::application::interaction::{Interaction, InteractionData};
use twilight_model::channel::message::component::{
    ActionRow, Button, ButtonStyle, Component, Label, TextInput, TextInputStyle,
};
use twilight_model::channel::message::MessageFlags;
use twilight_model::http::interaction::{InteractionResponse, InteractionResponseType};
use twilight_model::id::Id;
use twilight_util::builder::command::{CommandBuilder, StringBuilder, UserBuilder};
use twilight_util::builder::interaction_response::{
    ChannelMessageBuilder, ModalBuilder, UpdateMessageBuilder,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn fail(why: impl std::fmt::Display) -> ! {
    println!("FAIL {why}");
    std::process::exit(1);
}

#[tokio::main]
async fn main() {
    tokio::spawn(async {
        tokio::time::sleep(Duration::from_secs(90)).await;
        fail("timed out");
    });
    if let Err(e) = run().await {
        fail(e);
    }
}

async fn run() -> Result<(), Error> {
    let host = std::env::var("HEARTH_HOST")?;
    let token = std::env::var("HEARTH_BOT_TOKEN")?;
    let guild_id = Id::new(std::env::var("HEARTH_GUILD_ID")?.parse()?);
    let http = Client::builder()
        .token(format!("Bot {token}"))
        .proxy(host, true)
        .build();
    let gateway_url = http
        .gateway()
        .authed()
        .await?
        .model()
        .await
        .map_err(|e| format!("GET /gateway/bot: {e:?}"))?
        .url;
    let intents = Intents::GUILDS | Intents::GUILD_MESSAGES | Intents::GUILD_MESSAGE_REACTIONS;
    let config = ConfigBuilder::new(token, intents)
        .proxy_url(gateway_url)
        .build();
    let mut shard = Shard::with_config(ShardId::ONE, config);
    let mut me = None;
    while let Some(item) = shard.next_event(EventTypeFlags::all()).await {
        let event = match item {
            Ok(event) => event,
            Err(e) => fail(format!("gateway: {e}")),
        };
        match event {
            Event::Ready(ready) => {
                me = Some(ready.user.id);
                let app = ready.application.id;
                let commands = [
                    CommandBuilder::new("echo", "Says it back", CommandType::ChatInput)
                        .option(StringBuilder::new("text", "What to say").required(true))
                        .option(UserBuilder::new("who", "Whom to greet"))
                        .build(),
                    CommandBuilder::new("slow", "Thinks first", CommandType::ChatInput).build(),
                    CommandBuilder::new("secret", "Only you see it", CommandType::ChatInput)
                        .build(),
                    CommandBuilder::new("form", "Asks you something", CommandType::ChatInput)
                        .build(),
                ];
                let set = http
                    .interaction(app)
                    .set_guild_commands(guild_id, &commands)
                    .await?
                    .models()
                    .await
                    .map_err(|e| format!("PUT guild commands: {e:?}"))?;
                let mut names: Vec<String> = set.into_iter().map(|c| c.name).collect();
                names.sort();
                println!("COMMANDS {}", names.join(","));
            }
            Event::InteractionCreate(interaction) => {
                if answer(&http, &interaction.0).await? {
                    println!("DONE");
                    std::process::exit(0);
                }
            }
            Event::ReactionAdd(reaction) => {
                if Some(reaction.user_id) == me {
                    continue;
                }
                let name = match &reaction.emoji {
                    twilight_model::channel::message::EmojiReactionType::Unicode { name } => {
                        name.clone()
                    }
                    other => format!("{other:?}"),
                };
                http.create_message(reaction.channel_id)
                    .content(&format!("saw {name} from {}", reaction.user_id))
                    .await?;
                println!("REACTION {name}");
            }
            _ => {}
        }
    }
    fail("the gateway closed")
}

/// Answers one interaction; true once the last step (the modal's) is done.
async fn answer(http: &Client, i: &Interaction) -> Result<bool, Error> {
    let client = http.interaction(i.application_id);
    match &i.data {
        Some(InteractionData::ApplicationCommand(cmd)) => match cmd.name.as_str() {
            "echo" => {
                let mut text = String::new();
                let mut who = None;
                for o in &cmd.options {
                    match (&o.name[..], &o.value) {
                        ("text", CommandOptionValue::String(s)) => text = s.clone(),
                        ("who", CommandOptionValue::User(u)) => who = Some(*u),
                        _ => {}
                    }
                }
                let who = match who {
                    Some(id) => {
                        let resolved = cmd.resolved.as_ref().and_then(|r| r.users.get(&id));
                        match resolved {
                            Some(user) => format!(" to {}", user.name),
                            None => fail("the user option was not resolved"),
                        }
                    }
                    None => String::new(),
                };
                let button = Component::Button(Button {
                    custom_id: Some("again".into()),
                    disabled: false,
                    emoji: None,
                    id: None,
                    label: Some("Again".into()),
                    sku_id: None,
                    style: ButtonStyle::Primary,
                    url: None,
                });
                let row = Component::ActionRow(ActionRow {
                    components: vec![button],
                    id: None,
                });
                let response = ChannelMessageBuilder::new()
                    .content(format!("echo: {text}{who}"))
                    .components([row])
                    .build();
                client.create_response(i.id, &i.token, &response).await?;
                let reply = client
                    .response(&i.token)
                    .await?
                    .model()
                    .await
                    .map_err(|e| format!("GET @original: {e:?}"))?;
                http.create_reaction(
                    reply.channel_id,
                    reply.id,
                    &RequestReactionType::Unicode { name: "👍" },
                )
                .await?;
                println!("ECHOED {}", reply.id);
            }
            "slow" => {
                let deferred = InteractionResponse {
                    kind: InteractionResponseType::DeferredChannelMessageWithSource,
                    data: None,
                };
                client.create_response(i.id, &i.token, &deferred).await?;
                client
                    .update_response(&i.token)
                    .content(Some("thought about it"))
                    .await?;
                client
                    .create_followup(&i.token)
                    .content("and one more thing")
                    .await?;
                println!("SLOW");
            }
            "secret" => {
                let response = ChannelMessageBuilder::new()
                    .content("between us")
                    .flags(MessageFlags::EPHEMERAL)
                    .build();
                client.create_response(i.id, &i.token, &response).await?;
                println!("SECRET true");
            }
            "form" => {
                let input = Component::TextInput(TextInput {
                    custom_id: "body".into(),
                    id: None,
                    #[allow(deprecated)]
                    label: None,
                    max_length: None,
                    min_length: None,
                    placeholder: None,
                    required: None,
                    style: TextInputStyle::Paragraph,
                    value: None,
                });
                // Today's modal layout: a label around the input.
                let field = Component::Label(Label {
                    component: Box::new(input),
                    description: None,
                    id: None,
                    label: "Your thoughts".into(),
                });
                let modal = ModalBuilder::new("fb", "Feedback", [field]).build();
                client.create_response(i.id, &i.token, &modal).await?;
                println!("MODAL");
            }
            other => fail(format!("unknown command {other}")),
        },
        Some(InteractionData::MessageComponent(c)) => {
            let response = UpdateMessageBuilder::new()
                .content(format!("clicked {}", c.custom_id))
                .components(Vec::<Component>::new())
                .build();
            client.create_response(i.id, &i.token, &response).await?;
            println!("CLICKED");
        }
        Some(InteractionData::ModalSubmit(m)) => {
            let mut body = None;
            for field in &m.components {
                if let ModalInteractionComponent::Label(label) = field {
                    if let ModalInteractionComponent::TextInput(t) = label.component.as_ref() {
                        if t.custom_id == "body" {
                            body = Some(t.value.clone());
                        }
                    }
                }
            }
            let Some(body) = body else {
                fail("the modal's text input is missing")
            };
            let response = ChannelMessageBuilder::new()
                .content(format!("thanks: {body}"))
                .build();
            client.create_response(i.id, &i.token, &response).await?;
            println!("SUBMITTED");
            return Ok(true);
        }
        other => fail(format!("unexpected interaction data {other:?}")),
    }
    Ok(false)
}
