//! The store's behaviour, one suite for every backend.
//!
//! Each case is an `async fn(Arc<Backend>)` written against the store
//! traits only; `on_every_backend!` makes one test per case per backend
//! (`sqlite::<case>`, `postgres::<case>`), each on a fresh SQLite directory
//! or a fresh PostgreSQL database. The PostgreSQL tests need the admin URL
//! of a server in `HEARTH_TEST_POSTGRES`; without it they fail, saying so,
//! rather than pass without running.

/// The cases (in `behaviour/`), grouped by store trait, and what they share.
mod behaviour {
    pub mod backend;
    pub mod fixtures;

    pub mod accounts;
    pub mod concurrency;
    pub mod guilds;
    pub mod interactions;
    pub mod members;
    pub mod messages;
    pub mod notifications;
    pub mod pins;
    pub mod private;
    pub mod reactions;
    pub mod read_states;
    pub mod schema;
    pub mod search;
    pub mod threads;
    pub mod webhooks;
}

macro_rules! on_every_backend {
    ($($module:ident :: $case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::behaviour::backend::run(crate::behaviour::backend::Kind::Sqlite, crate::behaviour::$module::$case).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::behaviour::backend::run(crate::behaviour::backend::Kind::Postgres, crate::behaviour::$module::$case).await;
                }
            )*
        }
    };
}

on_every_backend! {
    threads::threads_start_from_messages_and_count_against_the_limit,
    threads::thread_members_are_counted_and_listed,
    threads::idle_threads_archive_once_and_go_with_their_parent,
    accounts::users_are_found_by_id_name_and_token,
    accounts::usernames_are_unique,
    accounts::tokens_are_replaced_and_revoked_together,
    accounts::applications_come_with_their_bot_and_edits_name_fields,
    accounts::instance_admins_are_marked_and_users_deleted,
    guilds::a_guild_is_created_with_its_roles_channels_and_owner,
    guilds::guild_edits_change_named_fields_and_check_channels,
    guilds::channels_are_limited_and_parents_must_be_categories,
    guilds::channel_edits_check_overwrites_against_roles_and_limits,
    guilds::deleting_a_channel_takes_its_messages_and_frees_its_children,
    guilds::role_positions_stay_dense_through_creates_moves_and_edits,
    guilds::deleting_a_role_takes_it_from_members_and_overwrites,
    guilds::deleting_a_guild_removes_everything_in_it,
    members::members_join_once_and_are_listed_in_pages,
    members::member_search_is_by_prefix_case_insensitive_and_literal,
    members::member_edits_change_named_fields_and_drop_unknown_roles,
    members::a_ban_removes_the_member_and_their_recent_messages,
    members::invites_count_their_uses_and_expire,
    members::invites_are_listed_held_to_a_limit_and_deleted,
    messages::pages_go_before_after_and_around_newest_first,
    messages::pages_cross_bucket_boundaries,
    messages::messages_are_edited_and_deleted,
    messages::replies_carry_their_original_and_webhook_authors_are_kept,
    reactions::reactions_are_counted_listed_and_go_with_their_message,
    pins::pins_are_listed_by_pin_time_and_go_with_their_message,
    read_states::read_states_count_mentions_after_the_read_message,
    read_states::acks_written_together_keep_their_order_and_the_furthest,
    search::search_finds_whole_words_in_the_channels_given,
    notifications::notification_settings_change_only_what_is_named_even_at_once,
    notifications::a_member_who_refuses_dms_from_a_guild_is_reached_only_through_another,
    private::a_pair_has_one_dm_that_closes_and_reopens,
    private::a_group_dm_keeps_its_limit_owner_and_goes_with_its_last_member,
    private::a_block_works_both_ways_is_limited_and_lifts,
    interactions::commands_keep_ids_by_name_limits_and_scopes,
    interactions::an_interaction_is_answered_once_in_time_and_forgotten_later,
    webhooks::webhooks_are_found_by_their_token_and_limited_per_channel,
    schema::data_survives_reopening,
    schema::a_database_newer_than_the_binary_is_refused,
    schema::an_older_schema_is_migrated_forward,
    schema::nodes_starting_together_migrate_once,
    concurrency::concurrent_joins_through_an_invite_never_exceed_its_uses,
    concurrency::concurrent_channel_creates_respect_the_limit,
    concurrency::concurrent_webhook_creates_respect_the_limit,
    concurrency::concurrent_role_creates_keep_positions_dense,
    concurrency::a_ban_racing_a_join_never_leaves_a_banned_member,
    concurrency::concurrent_edits_of_one_member_all_survive,
    concurrency::concurrent_new_emoji_respect_the_limit,
    concurrency::concurrent_pins_respect_the_limit,
    concurrency::concurrent_opens_of_one_dm_make_one_channel,
}
