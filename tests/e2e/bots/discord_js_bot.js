// A discord.js bot, unmodified, pointed at a Hearth server through its
// documented REST option (`rest.api`); the gateway URL comes from
// GET /gateway/bot. It logs in, reads its guild (its member's colour, the
// roles' colours), says hello in the channel it is given, answers a
// mention saying "ping" with a reply "pong" carrying the ping's file
// back, starts a thread from the ping and writes in it, and exits 0; any
// failure
// exits non-zero with the reason.
//
// Environment: HEARTH_URL (http://host:port), HEARTH_BOT_TOKEN,
// HEARTH_CHANNEL_ID, HEARTH_ROLE_ID (a role coloured #118899).

const { Client, GatewayIntentBits, Events } = require('discord.js');

const base = process.env.HEARTH_URL.replace(/\/+$/, '');
const client = new Client({
  intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages],
  rest: { api: `${base}/api` },
});

function fail(why) {
  console.log(`FAIL ${why}`);
  process.exit(1);
}
setTimeout(() => fail('timed out'), 60_000).unref();
client.on(Events.Error, (e) => fail(`client error: ${e}`));

client.once(Events.ClientReady, async () => {
  try {
    const channel = await client.channels.fetch(process.env.HEARTH_CHANNEL_ID);
    const guild = channel.guild;
    const role = guild.roles.cache.get(process.env.HEARTH_ROLE_ID);
    if (!role || role.hexColor !== '#118899') fail(`role colour: ${role && role.hexColor}`);
    const me = await guild.members.fetchMe();
    // Throws when roles lack `colors` (discord.js reads today's field).
    me.displayHexColor;
    await channel.send('hello from discord.js');
    console.log('READY', client.user.id);
  } catch (e) {
    fail(`on ready: ${e.stack || e}`);
  }
});

client.on(Events.MessageCreate, async (message) => {
  if (message.author.id === client.user.id) return;
  if (message.channelId !== process.env.HEARTH_CHANNEL_ID) return;
  // Without MESSAGE_CONTENT the content of others' messages is empty
  // unless the bot is mentioned: the test mentions it.
  if (message.content.includes('ping')) {
    try {
      // The test's ping carries a file: fetch it by its link and send
      // its bytes back as a file of our own.
      const sent = message.attachments.first();
      if (!sent) fail(`no attachment on the ping: ${JSON.stringify(message.toJSON())}`);
      const res = await fetch(sent.url);
      if (!res.ok) fail(`fetching ${sent.url}: ${res.status}`);
      const bytes = Buffer.from(await res.arrayBuffer());
      await message.reply({
        content: 'pong',
        files: [{ attachment: bytes, name: 'echo.txt', description: 'what you sent' }],
      });
      console.log('PONG', message.id);
      // A thread from the ping, and a message in it.
      const thread = await message.startThread({ name: 'ping thread' });
      if (thread.id !== message.id || thread.parentId !== message.channelId || !thread.isThread()) {
        fail(`thread: ${JSON.stringify(thread.toJSON())}`);
      }
      await thread.send('in the thread');
      console.log('THREAD', thread.id);
      await client.destroy();
      console.log('DONE');
      process.exit(0);
    } catch (e) {
      fail(`reply: ${e.stack || e}`);
    }
  }
});

client.login(process.env.HEARTH_BOT_TOKEN).catch((e) => fail(`login: ${e.stack || e}`));
