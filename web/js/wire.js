// The wire's numbers the client needs: Discord's permission bits (with the
// names Discord's own client shows) and channel types
// (docs/protocol.md §1.6, §1.7). One place, so no module spells a bit twice.

/**
 * Every permission bit Discord defines (0–46, 49, 50; the server stores and
 * returns them all), in the order Discord's settings list them by bit.
 * `guild`: meaningful server-wide only, so channel overwrites leave it out.
 */
export const PERMISSIONS = [
  { key: "CREATE_INSTANT_INVITE", bit: 0, name: "Create Invite" },
  { key: "KICK_MEMBERS", bit: 1, name: "Kick Members", guild: true },
  { key: "BAN_MEMBERS", bit: 2, name: "Ban Members", guild: true },
  { key: "ADMINISTRATOR", bit: 3, name: "Administrator", guild: true },
  { key: "MANAGE_CHANNELS", bit: 4, name: "Manage Channels" },
  { key: "MANAGE_GUILD", bit: 5, name: "Manage Server", guild: true },
  { key: "ADD_REACTIONS", bit: 6, name: "Add Reactions" },
  { key: "VIEW_AUDIT_LOG", bit: 7, name: "View Audit Log", guild: true },
  { key: "PRIORITY_SPEAKER", bit: 8, name: "Priority Speaker" },
  { key: "STREAM", bit: 9, name: "Video" },
  { key: "VIEW_CHANNEL", bit: 10, name: "View Channels" },
  { key: "SEND_MESSAGES", bit: 11, name: "Send Messages" },
  { key: "SEND_TTS_MESSAGES", bit: 12, name: "Send Text-to-Speech Messages" },
  { key: "MANAGE_MESSAGES", bit: 13, name: "Manage Messages" },
  { key: "EMBED_LINKS", bit: 14, name: "Embed Links" },
  { key: "ATTACH_FILES", bit: 15, name: "Attach Files" },
  { key: "READ_MESSAGE_HISTORY", bit: 16, name: "Read Message History" },
  { key: "MENTION_EVERYONE", bit: 17, name: "Mention @everyone, @here, and All Roles" },
  { key: "USE_EXTERNAL_EMOJIS", bit: 18, name: "Use External Emoji" },
  { key: "VIEW_GUILD_INSIGHTS", bit: 19, name: "View Server Insights", guild: true },
  { key: "CONNECT", bit: 20, name: "Connect" },
  { key: "SPEAK", bit: 21, name: "Speak" },
  { key: "MUTE_MEMBERS", bit: 22, name: "Mute Members" },
  { key: "DEAFEN_MEMBERS", bit: 23, name: "Deafen Members" },
  { key: "MOVE_MEMBERS", bit: 24, name: "Move Members" },
  { key: "USE_VAD", bit: 25, name: "Use Voice Activity" },
  { key: "CHANGE_NICKNAME", bit: 26, name: "Change Nickname", guild: true },
  { key: "MANAGE_NICKNAMES", bit: 27, name: "Manage Nicknames", guild: true },
  { key: "MANAGE_ROLES", bit: 28, name: "Manage Roles" },
  { key: "MANAGE_WEBHOOKS", bit: 29, name: "Manage Webhooks" },
  { key: "MANAGE_GUILD_EXPRESSIONS", bit: 30, name: "Manage Expressions", guild: true },
  { key: "USE_APPLICATION_COMMANDS", bit: 31, name: "Use Application Commands" },
  { key: "REQUEST_TO_SPEAK", bit: 32, name: "Request to Speak" },
  { key: "MANAGE_EVENTS", bit: 33, name: "Manage Events" },
  { key: "MANAGE_THREADS", bit: 34, name: "Manage Threads" },
  { key: "CREATE_PUBLIC_THREADS", bit: 35, name: "Create Public Threads" },
  { key: "CREATE_PRIVATE_THREADS", bit: 36, name: "Create Private Threads" },
  { key: "USE_EXTERNAL_STICKERS", bit: 37, name: "Use External Stickers" },
  { key: "SEND_MESSAGES_IN_THREADS", bit: 38, name: "Send Messages in Threads" },
  { key: "USE_EMBEDDED_ACTIVITIES", bit: 39, name: "Use Activities" },
  { key: "MODERATE_MEMBERS", bit: 40, name: "Timeout Members", guild: true },
  { key: "VIEW_CREATOR_MONETIZATION_ANALYTICS", bit: 41, name: "View Server Subscription Insights", guild: true },
  { key: "USE_SOUNDBOARD", bit: 42, name: "Use Soundboard" },
  { key: "CREATE_GUILD_EXPRESSIONS", bit: 43, name: "Create Expressions", guild: true },
  { key: "CREATE_EVENTS", bit: 44, name: "Create Events" },
  { key: "USE_EXTERNAL_SOUNDS", bit: 45, name: "Use External Sounds" },
  { key: "SEND_VOICE_MESSAGES", bit: 46, name: "Send Voice Messages" },
  { key: "SEND_POLLS", bit: 49, name: "Create Polls" },
  { key: "USE_EXTERNAL_APPS", bit: 50, name: "Use External Apps" },
].map((p) => ({ ...p, value: 1n << BigInt(p.bit) }));

/** Permission bits by Discord's name, as BigInts: `PERM.VIEW_CHANNEL`. */
export const PERM = Object.freeze(Object.fromEntries(PERMISSIONS.map((p) => [p.key, p.value])));

/** Every bit at once ("All permissions", `1829587348619263`). */
export const ALL_PERMISSIONS = PERMISSIONS.reduce((all, p) => all | p.value, 0n);

/** Lost in a channel with SEND_MESSAGES (§1.6's implicit rules). */
export const NEEDS_SEND = PERM.MENTION_EVERYONE | PERM.SEND_TTS_MESSAGES | PERM.ATTACH_FILES | PERM.EMBED_LINKS;

/** All a timed-out member keeps, in the server and in every channel (§1.6). */
export const TIMEOUT_KEEPS = PERM.VIEW_CHANNEL | PERM.READ_MESSAGE_HISTORY;

/** The most messages one bulk delete takes, and how old they may be (§4.8). */
export const BULK_DELETE = Object.freeze({ MIN: 2, MAX: 100, MAX_AGE_MS: 14 * 24 * 60 * 60 * 1000 });

/** Snowflakes count milliseconds from Discord's epoch (§1.4). */
export const EPOCH_MS = 1420070400000;

/** The longest time-out the server accepts (28 days). */
export const MAX_TIMEOUT_MS = 28 * 24 * 60 * 60 * 1000;

/** Gateway intents (§6.3). */
export const INTENT = Object.freeze({
  GUILDS: 1 << 0,
  GUILD_MEMBERS: 1 << 1,
  GUILD_MODERATION: 1 << 2,
  GUILD_INVITES: 1 << 6,
  GUILD_VOICE_STATES: 1 << 7,
  GUILD_PRESENCES: 1 << 8,
  GUILD_MESSAGES: 1 << 9,
  GUILD_MESSAGE_REACTIONS: 1 << 10,
  GUILD_MESSAGE_TYPING: 1 << 11,
  DIRECT_MESSAGES: 1 << 12,
  DIRECT_MESSAGE_REACTIONS: 1 << 13,
  DIRECT_MESSAGE_TYPING: 1 << 14,
  MESSAGE_CONTENT: 1 << 15,
});

/** Channel types (§1.7). */
export const CHANNEL = Object.freeze({
  TEXT: 0,
  DM: 1,
  VOICE: 2,
  GROUP_DM: 3,
  CATEGORY: 4,
  PUBLIC_THREAD: 11,
  PRIVATE_THREAD: 12,
});

/** Overwrite types. */
export const OVERWRITE = Object.freeze({ ROLE: 0, MEMBER: 1 });

/** Activity types of a presence's `activities` (op 3, PRESENCE_UPDATE); the client sets only CUSTOM. */
export const ACTIVITY = Object.freeze({
  PLAYING: 0,
  STREAMING: 1,
  LISTENING: 2,
  WATCHING: 3,
  /** A custom status: the text is its `state` (Discord's name for it is "Custom Status"). */
  CUSTOM: 4,
  COMPETING: 5,
});
